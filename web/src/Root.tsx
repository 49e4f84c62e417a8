import { App as AntApp, ConfigProvider, Spin } from 'antd'
import { lazy, Suspense } from 'react'
import enUS from 'antd/locale/en_US'
import zhCN from 'antd/locale/zh_CN'
import { useTranslation } from 'react-i18next'
import { Navigate, Route, Routes } from 'react-router-dom'
import Layout from './components/Layout'
import RequireSession from './components/RequireSession'
import LoginPage from './pages/LoginPage'
import NotFoundPage from './pages/NotFoundPage'

// Whoever asks their system for less motion gets none: antd's animations (modals zooming in,
// drawers sliding) are switched off. The browser tests ask for it too, so a click never meets a
// button that is still moving.
const reducedMotion = typeof window !== 'undefined' && window.matchMedia?.('(prefers-reduced-motion: reduce)')?.matches === true

// Pages load on first visit (ECharts only with the usage page).
const AdminPage = lazy(() => import('./pages/AdminPage'))
const ApiToolsPage = lazy(() => import('./pages/ApiToolsPage'))
const AppEditorPage = lazy(() => import('./pages/AppEditorPage'))
const AppsPage = lazy(() => import('./pages/AppsPage'))
const DatasetPage = lazy(() => import('./pages/DatasetPage'))
const DatasetsPage = lazy(() => import('./pages/DatasetsPage'))
const DocumentPage = lazy(() => import('./pages/DocumentPage'))
const KeysPage = lazy(() => import('./pages/KeysPage'))
const SelfServicePage = lazy(() => import('./pages/SelfServicePage'))
const UsagePage = lazy(() => import('./pages/UsagePage'))

export default function Root() {
  const { i18n } = useTranslation()
  return (
    <ConfigProvider locale={i18n.language === 'zh' ? zhCN : enUS} theme={{ token: { colorPrimary: '#1677ff', motion: !reducedMotion } }}>
      <AntApp>
        <Suspense fallback={<div style={{ textAlign: 'center', padding: 48 }}><Spin /></div>}>
        <Routes>
          <Route path="/" element={<Navigate to="/console/apps" replace />} />
          <Route path="/console" element={<Navigate to="/console/apps" replace />} />
          <Route path="/console/login" element={<LoginPage />} />
          <Route path="/console/self-service" element={<SelfServicePage />} />
          <Route path="/console" element={<RequireSession><Layout /></RequireSession>}>
            <Route path="apps" element={<AppsPage />} />
            <Route path="apps/:appId" element={<AppEditorPage />} />
            <Route path="api-tools" element={<ApiToolsPage />} />
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
        </Suspense>
      </AntApp>
    </ConfigProvider>
  )
}
