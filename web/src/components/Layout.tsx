import {
  ApiOutlined, AppstoreOutlined, BarChartOutlined, DatabaseOutlined, KeyOutlined, LogoutOutlined,
  SafetyOutlined, ToolOutlined, WalletOutlined,
} from '@ant-design/icons'
import { Button, Dropdown, Layout as AntLayout, Menu, Spin, Tag } from 'antd'
import { Suspense, useCallback, useEffect, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { Link, Outlet, useLocation, useNavigate } from 'react-router-dom'
import { api, setSession } from '../api/client'
import type { Account } from '../api/types'
import { AccountContext } from './AccountContext'
import LanguageSwitch from './LanguageSwitch'
import { formatUsd } from './format'

export default function Layout() {
  const { t } = useTranslation()
  const location = useLocation()
  const navigate = useNavigate()
  const [account, setAccount] = useState<Account | null>(null)
  const [collapsed, setCollapsed] = useState(false)

  const reload = useCallback(() => {
    api<Account>('/account').then(setAccount).catch(() => undefined)
  }, [])
  useEffect(reload, [reload])

  const section = location.pathname.split('/')[2] ?? 'apps'
  const items = [
    { key: 'apps', icon: <AppstoreOutlined />, label: <Link to="/console/apps">{t('Apps')}</Link> },
    { key: 'datasets', icon: <DatabaseOutlined />, label: <Link to="/console/datasets">{t('Knowledge')}</Link> },
    { key: 'api-tools', icon: <ToolOutlined />, label: <Link to="/console/api-tools">{t('API tools')}</Link> },
    { key: 'keys', icon: <KeyOutlined />, label: <Link to="/console/keys">{t('API keys')}</Link> },
    { key: 'usage', icon: <BarChartOutlined />, label: <Link to="/console/usage">{t('Usage')}</Link> },
    { key: 'self-service', icon: <WalletOutlined />, label: <Link to="/console/self-service">{t('Key self-service')}</Link> },
    ...(account?.is_admin ? [{ key: 'admin', icon: <SafetyOutlined />, label: <Link to="/console/admin">{t('Admin')}</Link> }] : []),
  ]

  const logout = async () => {
    try {
      await api('/auth/logout', { method: 'POST' })
    } catch {
      /* the session may already be gone */
    }
    setSession(null)
    navigate('/console/login')
  }

  return (
    <AccountContext.Provider value={{ account, reload }}>
      <AntLayout style={{ minHeight: '100vh' }}>
        <AntLayout.Sider breakpoint="md" collapsedWidth={0} collapsed={collapsed} onCollapse={setCollapsed}
          onBreakpoint={(broken) => setCollapsed(broken)} zeroWidthTriggerStyle={{ top: 12 }}>
          <div className="brand"><ApiOutlined /> LLMOps</div>
          <Menu theme="dark" mode="inline" selectedKeys={[section]} items={items}
            onClick={() => { if (window.innerWidth < 768) setCollapsed(true) }} />
        </AntLayout.Sider>
        <AntLayout>
          <AntLayout.Header className="topbar">
            {account && account.balance !== undefined && (
              <Tag color="blue" data-testid="balance">{t('Balance')}: {formatUsd(account.balance / 1e6)}</Tag>
            )}
            <LanguageSwitch />
            <Dropdown menu={{ items: [{ key: 'logout', icon: <LogoutOutlined />, label: t('Sign out'), onClick: logout }] }}>
              <Button type="text" data-testid="account-menu">{account?.name ?? '…'}</Button>
            </Dropdown>
          </AntLayout.Header>
          <AntLayout.Content>
            <Suspense fallback={<div style={{ textAlign: 'center', padding: 48 }}><Spin /></div>}>
              <Outlet />
            </Suspense>
          </AntLayout.Content>
        </AntLayout>
      </AntLayout>
    </AccountContext.Provider>
  )
}
