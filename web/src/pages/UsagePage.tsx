import { Card, Col, Row, Segmented, Select, Space, Statistic, Table, Tag, Typography } from 'antd'
import { useMemo, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { api, type Page } from '../api/client'
import type { ApiKey, UsageDay, UsageLog } from '../api/types'
import Chart from '../components/Chart'
import { formatTime, formatUsd } from '../components/format'
import { Loadable } from '../components/States'
import { useLoad } from '../components/useLoad'

const isoDay = (d: Date) => d.toISOString().slice(0, 10)

/** Per-day totals over every key (p50 latency: the requests-weighted mean of the keys' p50s). */
export function byDay(rows: UsageDay[], days: string[]) {
  const map = new Map(days.map((d) => [d, { requests: 0, tokens: 0, cost: 0, latencyWeighted: 0 }]))
  for (const r of rows) {
    const m = map.get(r.day)
    if (!m) continue
    m.requests += r.requests
    m.tokens += r.total_tokens
    m.cost += r.cost_usd
    m.latencyWeighted += r.latency_p50_ms * r.requests
  }
  return days.map((d) => {
    const m = map.get(d)!
    return { day: d, requests: m.requests, tokens: m.tokens, cost: m.cost,
      latency: m.requests ? Math.round(m.latencyWeighted / m.requests) : 0 }
  })
}

export default function UsagePage() {
  const { t } = useTranslation()
  const [range, setRange] = useState<number>(7)
  const [keyId, setKeyId] = useState<string | undefined>()
  const [page, setPage] = useState(1)
  const days = useMemo(() => {
    const today = new Date()
    return Array.from({ length: range }, (_, i) => isoDay(new Date(today.getTime() - (range - 1 - i) * 86400000)))
  }, [range])
  const end = isoDay(new Date(Date.now() + 86400000))
  const usage = useLoad(() => api<UsageDay[]>('/usage', { query: { start_date: days[0], end_date: end, api_key_id: keyId } }),
    [days, end, keyId])
  const keys = useLoad(() => api<Page<ApiKey>>('/api-keys', { query: { page_size: 50 } }), [])
  const logs = useLoad(() => api<Page<UsageLog>>('/usage/logs', { query: { current_page: page, page_size: 20, api_key_id: keyId } }),
    [page, keyId])
  const series = useMemo(() => byDay(usage.data ?? [], days), [usage.data, days])
  const total = series.reduce((a, s) => ({ requests: a.requests + s.requests, tokens: a.tokens + s.tokens, cost: a.cost + s.cost }),
    { requests: 0, tokens: 0, cost: 0 })
  const labels = days.map((d) => d.slice(5))
  const keyName = (id?: string | null) => keys.data?.list.find((k) => k.id === id)?.remark || keys.data?.list.find((k) => k.id === id)?.api_key

  return (
    <div className="page">
      <div className="page-header">
        <h2>{t('Usage')}</h2>
        <Space wrap>
          <Select allowClear placeholder={t('All keys')} style={{ width: 200 }} value={keyId} onChange={(v) => { setKeyId(v); setPage(1) }}
            options={(keys.data?.list ?? []).map((k) => ({ label: k.remark || k.api_key, value: k.id }))} />
          <Segmented value={range} onChange={(v) => setRange(v as number)}
            options={[{ label: t('7 days'), value: 7 }, { label: t('30 days'), value: 30 }]} />
        </Space>
      </div>
      <Typography.Paragraph type="secondary">
        {t('The charts count requests made with API keys (UTC days); the request log lists every surface.')}
      </Typography.Paragraph>
      <Loadable loading={usage.loading} error={usage.error} onRetry={usage.reload} empty={!usage.data && usage.loading}>
        <Row gutter={[16, 16]} style={{ marginBottom: 16 }}>
          <Col xs={12} md={8}><Card size="small"><Statistic title={t('Requests')} value={total.requests} data-testid="total-requests" /></Card></Col>
          <Col xs={12} md={8}><Card size="small"><Statistic title={t('Tokens')} value={total.tokens} data-testid="total-tokens" /></Card></Col>
          <Col xs={24} md={8}><Card size="small"><Statistic title={t('Cost')} value={formatUsd(total.cost)} /></Card></Col>
        </Row>
        <div className="chart-grid" data-testid="usage-charts">
          <Card size="small" title={t('Requests per day')}><Chart days={labels} values={series.map((s) => s.requests)} testId="chart-requests" /></Card>
          <Card size="small" title={t('Tokens per day')}><Chart days={labels} values={series.map((s) => s.tokens)} color="#13c2c2" testId="chart-tokens" /></Card>
          <Card size="small" title={t('Cost per day (USD)')}><Chart days={labels} values={series.map((s) => s.cost)} color="#fa8c16" format={(v) => `$${+v.toPrecision(3)}`} testId="chart-cost" /></Card>
          <Card size="small" title={t('p50 latency (ms)')}><Chart days={labels} values={series.map((s) => s.latency)} kind="line" color="#722ed1" testId="chart-latency" /></Card>
        </div>
      </Loadable>
      <Card size="small" title={t('Request log')} style={{ marginTop: 16 }}>
        <Loadable loading={logs.loading} error={logs.error} onRetry={logs.reload} empty={!logs.data?.list.length}
          emptyText={t('No requests yet')}>
          <Table rowKey="id" size="small" dataSource={logs.data?.list} data-testid="request-log" scroll={{ x: 900 }}
            pagination={{ current: page, pageSize: 20, total: logs.data?.paginator.total_record, onChange: setPage }}
            columns={[
              { title: t('Time'), dataIndex: 'created_at', render: formatTime },
              { title: t('Surface'), dataIndex: 'surface', render: (s: string) => <Tag>{s}</Tag> },
              { title: t('Key'), dataIndex: 'api_key_id', render: (id: string | null) => keyName(id) ?? '—' },
              { title: t('Model'), dataIndex: 'model' },
              { title: t('Tokens'), dataIndex: 'total_tokens' },
              { title: t('Cost'), dataIndex: 'cost_usd', render: formatUsd },
              { title: t('Latency'), dataIndex: 'latency_ms', render: (ms: number) => `${ms} ms` },
              { title: t('Status'), dataIndex: 'status_code', render: (c: number, l: UsageLog) =>
                <Tag color={l.status === 'error' ? 'red' : 'green'}>{c}</Tag> },
            ]} />
        </Loadable>
      </Card>
    </div>
  )
}
