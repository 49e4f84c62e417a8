import { DownloadOutlined, ReloadOutlined } from '@ant-design/icons'
import {
  Alert, App, Button, Card, DatePicker, Descriptions, Form, Input, InputNumber, Modal, Popconfirm, Result, Select, Space,
  Table, Tabs, Tag, Typography,
} from 'antd'
import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { api, type Page } from '../api/client'
import type { ActiveModel, AdminAccount, Provider, RedeemCodeItem } from '../api/types'
import { useAccount } from '../components/AccountContext'
import { formatCredits, formatTime } from '../components/format'
import { Loadable } from '../components/States'
import { useLoad } from '../components/useLoad'

function downloadCsv(name: string, rows: (string | number)[][]) {
  const csv = rows.map((r) => r.map((c) => `"${String(c).replaceAll('"', '""')}"`).join(',')).join('\n')
  const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }))
  const a = document.createElement('a')
  a.href = url
  a.download = name
  a.click()
  URL.revokeObjectURL(url)
}

function Accounts() {
  const { t } = useTranslation()
  const { message } = App.useApp()
  const [search, setSearch] = useState('')
  const [page, setPage] = useState(1)
  const [adjusting, setAdjusting] = useState<AdminAccount | null>(null)
  const [form] = Form.useForm()
  const accounts = useLoad(() => api<Page<AdminAccount>>('/admin/accounts', { query: { search_word: search, current_page: page, page_size: 20 } }),
    [search, page])
  const adjust = async () => {
    const v = await form.validateFields()
    try {
      await api(`/admin/accounts/${adjusting!.id}`, { method: 'POST', body: { amount: Math.round(v.usd * 1e6), reason: v.reason } })
      message.success(v.usd > 0 ? t('Credited') : t('Debited'))
      setAdjusting(null)
      form.resetFields()
      accounts.reload()
    } catch (e) {
      message.error((e as Error).message)
    }
  }
  const setDisabled = async (a: AdminAccount, disabled: boolean) => {
    await api(`/admin/accounts/${a.id}/${disabled ? 'disable' : 'enable'}`, { method: 'POST' })
    accounts.reload()
  }
  return (
    <>
      <Input.Search placeholder={t('Search e-mail or name')} allowClear style={{ maxWidth: 320, marginBottom: 12 }}
        onSearch={(v) => { setPage(1); setSearch(v) }} />
      <Loadable loading={accounts.loading} error={accounts.error} onRetry={accounts.reload} empty={!accounts.data?.list.length}>
        <Table rowKey="id" size="small" dataSource={accounts.data?.list} scroll={{ x: 820 }} data-testid="accounts-table"
          pagination={{ current: page, pageSize: 20, total: accounts.data?.paginator.total_record, onChange: setPage }}
          columns={[
            { title: t('Name'), dataIndex: 'name', render: (n: string, a: AdminAccount) => <>{n} {a.is_admin && <Tag color="gold">admin</Tag>}</> },
            { title: t('E-mail'), dataIndex: 'email' },
            { title: t('Balance'), dataIndex: 'balance', render: formatCredits },
            { title: t('Used'), dataIndex: 'used', render: formatCredits },
            { title: t('Status'), dataIndex: 'status', render: (s: string) => <Tag color={s === 'active' ? 'green' : 'red'}>{t(s)}</Tag> },
            { title: t('Created'), dataIndex: 'created_at', render: formatTime },
            { title: '', key: 'a', render: (_: unknown, a: AdminAccount) => <Space size={0} wrap>
              <Button type="link" size="small" onClick={() => setAdjusting(a)}>{t('Credit / debit')}</Button>
              {a.status === 'active'
                ? <Popconfirm title={t('Disable this account? Its keys and sessions stop at once.')} onConfirm={() => setDisabled(a, true)}>
                  <Button type="link" size="small" danger>{t('Disable')}</Button></Popconfirm>
                : <Button type="link" size="small" onClick={() => setDisabled(a, false)}>{t('Enable')}</Button>}
            </Space> },
          ]} />
      </Loadable>
      <Modal open={!!adjusting} title={`${t('Credit / debit')}: ${adjusting?.email ?? ''}`} onOk={adjust} onCancel={() => setAdjusting(null)}>
        <Form name="adjust" form={form} layout="vertical">
          <Form.Item name="usd" label={t('Amount in USD (negative debits)')} rules={[{ required: true }]}>
            <InputNumber step={1} style={{ width: '100%' }} />
          </Form.Item>
          <Form.Item name="reason" label={t('Reason')} rules={[{ required: true, max: 500 }]}><Input /></Form.Item>
        </Form>
      </Modal>
    </>
  )
}

function RedeemCodes() {
  const { t } = useTranslation()
  const { message } = App.useApp()
  const [page, setPage] = useState(1)
  const [fresh, setFresh] = useState<{ codes: string[]; usd: number } | null>(null)
  const codes = useLoad(() => api<Page<RedeemCodeItem>>('/admin/redeem-codes', { query: { current_page: page, page_size: 20 } }), [page])
  const generate = async (v: { count: number; usd: number; expires?: { valueOf(): number } }) => {
    try {
      const r = await api<{ codes: string[] }>('/admin/redeem-codes', { method: 'POST', body: {
        count: v.count, quota: Math.round(v.usd * 1e6), expires_at: v.expires ? Math.floor(v.expires.valueOf() / 1000) : null } })
      setFresh({ codes: r.codes, usd: v.usd })
      codes.reload()
    } catch (e) {
      message.error((e as Error).message)
    }
  }
  return (
    <>
      <Form layout="inline" onFinish={generate} initialValues={{ count: 5, usd: 1 }} style={{ marginBottom: 12, rowGap: 8 }}>
        <Form.Item name="count" label={t('Count')}><InputNumber min={1} max={1000} /></Form.Item>
        <Form.Item name="usd" label={t('Worth (USD)')}><InputNumber min={0.000001} step={1} /></Form.Item>
        <Form.Item name="expires" label={t('Expires')}><DatePicker /></Form.Item>
        <Button type="primary" htmlType="submit">{t('Generate')}</Button>
      </Form>
      {fresh && (
        <Alert type="success" showIcon style={{ marginBottom: 12 }} title={t('{{n}} codes: copy or export them now, they are not shown again', { n: fresh.codes.length })}
          description={<>
            <pre style={{ maxHeight: 160, overflow: 'auto' }} data-testid="fresh-codes">{fresh.codes.join('\n')}</pre>
            <Button icon={<DownloadOutlined />} onClick={() => downloadCsv('redeem-codes.csv',
              [['code', 'usd'], ...fresh.codes.map((c) => [c, fresh.usd])])}>{t('Export CSV')}</Button>
          </>} />
      )}
      <Loadable loading={codes.loading} error={codes.error} onRetry={codes.reload} empty={!codes.data?.list.length} emptyText={t('No codes yet')}>
        <Table rowKey="id" size="small" dataSource={codes.data?.list} scroll={{ x: 640 }}
          pagination={{ current: page, pageSize: 20, total: codes.data?.paginator.total_record, onChange: setPage }}
          title={() => <Button size="small" icon={<DownloadOutlined />} onClick={() => downloadCsv('redeem-code-list.csv',
            [['id', 'usd', 'status', 'created_at', 'redeemed_at'], ...(codes.data?.list ?? []).map((c) =>
              [c.id, c.quota / 1e6, c.status, formatTime(c.created_at), formatTime(c.redeemed_at)])])}>{t('Export list')}</Button>}
          columns={[
            { title: t('Worth'), dataIndex: 'quota', render: formatCredits },
            { title: t('Status'), dataIndex: 'status', render: (s: string) => <Tag color={s === 'unused' ? 'blue' : 'default'}>{t(s)}</Tag> },
            { title: t('Created'), dataIndex: 'created_at', render: formatTime },
            { title: t('Expires'), dataIndex: 'expires_at', render: formatTime },
            { title: t('Redeemed'), dataIndex: 'redeemed_at', render: formatTime },
          ]} />
      </Loadable>
    </>
  )
}

const KINDS = ['language', 'vision', 'embedding'] as const

function Models({ providers }: { providers: Provider[] }) {
  const { t } = useTranslation()
  const { message } = App.useApp()
  const active = useLoad(() => api<ActiveModel[]>('/admin/models/active'), [])
  const [choice, setChoice] = useState<Record<string, string>>({})
  const options = (kind: string) => providers.filter((p) => p.configured).map((p) => ({
    label: p.label,
    options: p.models.filter((m) => (m.kind ?? 'language') === kind).map((m) => ({ label: `${p.name}/${m.name}`, value: `${p.name}/${m.name}` })),
  })).filter((g) => g.options.length)
  const switchTo = async (kind: string) => {
    const value = choice[kind]
    const slash = value.indexOf('/')
    try {
      await api('/admin/models/active', { method: 'POST', body: { kind, provider: value.slice(0, slash), model: value.slice(slash + 1) } })
      message.success(t('Active {{kind}} model: {{model}}', { kind: t(kind), model: value }))
      active.reload()
    } catch (e) {
      message.error((e as Error).message)
    }
  }
  return (
    <Loadable loading={active.loading} error={active.error} onRetry={active.reload} empty={!active.data && active.loading}>
      <Space direction="vertical" style={{ width: '100%' }} data-testid="active-models">
        {KINDS.map((kind) => {
          const current = active.data?.find((a) => a.kind === kind)
          return (
            <Card size="small" key={kind} title={t(`${kind[0].toUpperCase()}${kind.slice(1)} model`)} data-testid={`active-${kind}`}>
              <Descriptions size="small" column={1} items={[{ key: 'c', label: t('Active'), children: current
                ? <Tag color="green" data-testid={`active-${kind}-value`}>{current.provider}/{current.model}</Tag>
                : <Typography.Text type="secondary" data-testid={`active-${kind}-value`}>
                  {kind === 'language' ? t('the configured default') : t('none')}</Typography.Text> }]} />
              <Space.Compact style={{ width: '100%', maxWidth: 520 }}>
                <Select showSearch style={{ flex: 1 }} placeholder={t('Choose a model')} options={options(kind)}
                  value={choice[kind]} onChange={(v) => setChoice({ ...choice, [kind]: v })} data-testid={`choose-${kind}`} />
                <Button type="primary" disabled={!choice[kind]} onClick={() => switchTo(kind)} data-testid={`switch-${kind}`}>
                  {t('Make active')}</Button>
              </Space.Compact>
            </Card>
          )
        })}
      </Space>
    </Loadable>
  )
}

function Providers({ providers, loading, error, reload }: { providers: Provider[]; loading: boolean; error: Error | null; reload: () => void }) {
  const { t } = useTranslation()
  return (
    <Loadable loading={loading} error={error} onRetry={reload} empty={!providers.length}>
      <Table rowKey="name" size="small" dataSource={providers} pagination={false} scroll={{ x: 640 }} data-testid="providers"
        columns={[
          { title: t('Provider'), dataIndex: 'label' },
          { title: t('Status'), dataIndex: 'configured', render: (c: boolean) =>
            <Tag color={c ? 'green' : 'default'}>{c ? t('configured') : t('no API key')}</Tag> },
          { title: 'Base URL', dataIndex: 'base_url', render: (u: string) => <Typography.Text code>{u}</Typography.Text> },
          { title: t('Models'), dataIndex: 'models', render: (m: Provider['models']) => m.map((x) => x.name).join(', ') || '—' },
        ]} />
    </Loadable>
  )
}

function Health() {
  const { t } = useTranslation()
  const health = useLoad(async () => {
    const r = await fetch('/readyz', { headers: { Authorization: `Bearer ${JSON.parse(localStorage.getItem('llmops.session') ?? '{}').access_token}` } })
    return r.json() as Promise<{ status: string; checks: Record<string, string>; failing: string[] }>
  }, [])
  return (
    <Loadable loading={health.loading} error={health.error} onRetry={health.reload} empty={!health.data}>
      {health.data && <>
        <Space style={{ marginBottom: 12 }}>
          <Tag color={health.data.status === 'ready' ? 'green' : 'red'} data-testid="health-status">{t(health.data.status)}</Tag>
          <Button size="small" icon={<ReloadOutlined />} onClick={health.reload}>{t('Refresh')}</Button>
        </Space>
        <Descriptions bordered size="small" column={1} items={Object.entries(health.data.checks).map(([k, v]) => ({
          key: k, label: k, children: <Tag color={v === 'ok' ? 'green' : 'red'}>{v}</Tag> }))} />
      </>}
    </Loadable>
  )
}

export default function AdminPage() {
  const { t } = useTranslation()
  const { account } = useAccount()
  const providers = useLoad(() => api<Provider[]>('/language-models'), [])
  if (account && !account.is_admin) return <Result status="403" title={t('Admins only')} />
  return (
    <div className="page">
      <div className="page-header"><h2>{t('Admin')}</h2></div>
      <Card size="small">
        <Tabs destroyOnHidden items={[
          { key: 'accounts', label: t('Accounts'), children: <Accounts /> },
          { key: 'codes', label: t('Redeem codes'), children: <RedeemCodes /> },
          { key: 'models', label: t('Models'), children: <Models providers={providers.data ?? []} /> },
          { key: 'providers', label: t('Providers'), children: <Providers providers={providers.data ?? []} loading={providers.loading}
            error={providers.error} reload={providers.reload} /> },
          { key: 'health', label: t('Health'), children: <Health /> },
        ]} />
      </Card>
    </div>
  )
}
