import { Alert, App, Button, Card, Col, Input, Row, Space, Statistic, Table, Tag, Typography } from 'antd'
import { useCallback, useEffect, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { Link } from 'react-router-dom'
import { api, ApiError, type Page } from '../api/client'
import type { PriceItem, UsageLog } from '../api/types'
import { formatTime, formatUsd } from '../components/format'
import LanguageSwitch from '../components/LanguageSwitch'
import { Loadable } from '../components/States'
import { useLoad } from '../components/useLoad'

const KEY_STORE = 'llmops.selfservice.key'

interface Billing {
  limit: number // USD
  used: number // USD
}

/** Seed 004's self-service page: a key holder without an account session pastes a key and sees
 * its balance, usage and recent requests, redeems a code and reads the price list. */
export default function SelfServicePage() {
  const { t } = useTranslation()
  const { message } = App.useApp()
  const [draftKey, setDraftKey] = useState(sessionStorage.getItem(KEY_STORE) ?? '')
  const [key, setKey] = useState(sessionStorage.getItem(KEY_STORE) ?? '')
  const [billing, setBilling] = useState<Billing | null>(null)
  const [logs, setLogs] = useState<UsageLog[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [loading, setLoading] = useState(false)
  const [code, setCode] = useState('')
  const [redeeming, setRedeeming] = useState(false)
  const prices = useLoad(() => api<{ data: PriceItem[] }>('/api/pricing', { auth: false }), [])

  const load = useCallback(async (k: string) => {
    if (!k) return
    setLoading(true)
    setError(null)
    try {
      const [sub, usage, page] = await Promise.all([
        api<{ hard_limit_usd: number }>('/v1/dashboard/billing/subscription', { auth: k }),
        api<{ total_usage: number }>('/v1/dashboard/billing/usage', { auth: k }),
        api<Page<UsageLog>>('/api/logs', { auth: k, query: { page_size: 10 } }),
      ])
      setBilling({ limit: sub.hard_limit_usd, used: usage.total_usage / 100 })
      setLogs(page.list)
    } catch (e) {
      setBilling(null)
      setLogs(null)
      setError(e instanceof ApiError ? e.message : String(e))
    } finally {
      setLoading(false)
    }
  }, [])

  useEffect(() => { void load(key) }, [key, load])

  const check = () => {
    const k = draftKey.trim()
    sessionStorage.setItem(KEY_STORE, k)
    setKey(k)
    void load(k)
  }
  const forget = () => {
    sessionStorage.removeItem(KEY_STORE)
    setKey('')
    setDraftKey('')
    setBilling(null)
    setLogs(null)
  }
  const redeem = async () => {
    setRedeeming(true)
    try {
      const r = await api<{ credited: number }>('/api/redeem', { method: 'POST', auth: key, body: { code: code.trim() } })
      message.success(t('Redeemed: {{usd}} added', { usd: formatUsd(r.credited / 1e6) }))
      setCode('')
      void load(key)
    } catch (e) {
      message.error(e instanceof ApiError ? e.message : String(e))
    } finally {
      setRedeeming(false)
    }
  }

  return (
    <div className="page" style={{ maxWidth: 1100 }}>
      <div className="page-header">
        <h2>{t('Key self-service')}</h2>
        <Space><LanguageSwitch /><Link to="/console/apps">{t('Console')}</Link></Space>
      </div>
      <Card size="small" style={{ marginBottom: 16 }}>
        <Space.Compact style={{ width: '100%' }}>
          <Input.Password placeholder={t('Paste your API key (sk-…)')} value={draftKey} onChange={(e) => setDraftKey(e.target.value)}
            onPressEnter={check} data-testid="ss-key" />
          <Button type="primary" onClick={check} loading={loading} data-testid="ss-check">{t('Look up')}</Button>
        </Space.Compact>
        <Typography.Text type="secondary" style={{ fontSize: 12 }}>
          {t('The key stays in this browser tab only.')} {key && <Button type="link" size="small" onClick={forget}>{t('Forget it')}</Button>}
        </Typography.Text>
      </Card>
      {error && <Alert type="error" showIcon title={error} style={{ marginBottom: 16 }} data-testid="ss-error" />}
      {billing && <>
        <Row gutter={[16, 16]} style={{ marginBottom: 16 }}>
          <Col xs={24} sm={8}><Card size="small"><Statistic title={t('Remaining')} data-testid="ss-remaining"
            value={formatUsd(Math.max(billing.limit - billing.used, 0))} /></Card></Col>
          <Col xs={12} sm={8}><Card size="small"><Statistic title={t('Limit')} value={formatUsd(billing.limit)} data-testid="ss-limit" /></Card></Col>
          <Col xs={12} sm={8}><Card size="small"><Statistic title={t('Used')} value={formatUsd(billing.used)} /></Card></Col>
        </Row>
        <Card size="small" title={t('Redeem a code')} style={{ marginBottom: 16 }}>
          <Space.Compact style={{ width: '100%', maxWidth: 520 }}>
            <Input placeholder="XXXX-XXXX-XXXX-XXXX-XXXX-XXXX" value={code} onChange={(e) => setCode(e.target.value)}
              data-testid="ss-code" onPressEnter={redeem} />
            <Button type="primary" onClick={redeem} loading={redeeming} disabled={!code.trim()} data-testid="ss-redeem">{t('Redeem')}</Button>
          </Space.Compact>
        </Card>
        <Card size="small" title={t('Recent requests')} style={{ marginBottom: 16 }}>
          <Loadable loading={loading} empty={!logs?.length} emptyText={t('No requests yet')}>
            <Table rowKey="id" size="small" dataSource={logs ?? []} pagination={false} scroll={{ x: 640 }} data-testid="ss-logs"
              columns={[
                { title: t('Time'), dataIndex: 'created_at', render: formatTime },
                { title: t('Model'), dataIndex: 'model' },
                { title: t('Tokens'), dataIndex: 'total_tokens' },
                { title: t('Cost'), dataIndex: 'cost_usd', render: formatUsd },
                { title: t('Status'), dataIndex: 'status_code', render: (c: number) => <Tag color={c < 400 ? 'green' : 'red'}>{c}</Tag> },
              ]} />
          </Loadable>
        </Card>
      </>}
      <Card size="small" title={t('Prices (USD per 1M tokens)')}>
        <Loadable loading={prices.loading} error={prices.error} onRetry={prices.reload} empty={!prices.data?.data.length}>
          <Table rowKey={(p) => `${p.provider}/${p.model}`} size="small" dataSource={prices.data?.data} pagination={false}
            scroll={{ x: 560 }} data-testid="ss-prices" columns={[
              { title: t('Model'), dataIndex: 'model' },
              { title: t('Provider'), dataIndex: 'provider' },
              { title: t('Kind'), dataIndex: 'kind' },
              { title: t('Input'), dataIndex: 'input_price' },
              { title: t('Output'), dataIndex: 'output_price' },
            ]} />
        </Loadable>
      </Card>
    </div>
  )
}
