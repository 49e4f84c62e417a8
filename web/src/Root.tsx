import { App as AntApp, ConfigProvider } from 'antd'
import enUS from 'antd/locale/en_US'
import zhCN from 'antd/locale/zh_CN'
import { useTranslation } from 'react-i18next'
import { Navigate, Route, Routes } from 'react-router-dom'
import Layout from './components/Layout'
import RequireSession from './components/RequireSession'
import AdminPage from './pages/AdminPage'
import AppEditorPage from './pages/AppEditorPage'
import AppsPage from './pages/AppsPage'
import DatasetPage from './pages/DatasetPage'
import DatasetsPage from './pages/DatasetsPage'
import DocumentPage from './pages/DocumentPage'
import KeysPage from './pages/KeysPage'
import LoginPage from './pages/LoginPage'
import NotFoundPage from './pages/NotFoundPage'
import SelfServicePage from './pages/SelfServicePage'
import UsagePage from './pages/UsagePage'

export default function Root() {
  const { i18n } = useTranslation()
  return (
    <ConfigProvider locale={i18n.language === 'zh' ? zhCN : enUS} theme={{ token: { colorPrimary: '#1677ff' } }}>
      <AntApp>
        <Routes>
          <Route path="/" element={<Navigate to="/console/apps" replace />} />
          <Route path="/console" element={<Navigate to="/console/apps" replace />} />
          <Route path="/console/login" element={<LoginPage />} />
          <Route path="/console/self-service" element={<SelfServicePage />} />
          <Route path="/console" element={<RequireSession><Layout /></RequireSession>}>
            <Route path="apps" element={<AppsPage />} />
            <Route path="apps/:appId" element={<AppEditorPage />} />
            <Route path="datasets" element={<DatasetsPage />} />
            <Route path="datasets/:datasetId" element={<DatasetPage />} />
            <Route path="datasets/:datasetId/documents/:documentId" element={<DocumentPage />} />
            <Route path="keys" element={<KeysPage />} />
            <Route path="usage" element={<UsagePage />} />
            <Route path="admin" element={<AdminPage />} />
            <Route path="*" element={<NotFoundPage />} />
          </Route>
          <Route path="*" element={<NotFoundPage />} />
        </Routes>
      </AntApp>
    </ConfigProvider>
  )
}
