import { ArrowLeftOutlined } from '@ant-design/icons'
import { App, Button, Card, Form, Input, InputNumber, List, Modal, Popconfirm, Radio, Space, Switch, Table, Tabs, Tag, Typography } from 'antd'
import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { Link, useParams } from 'react-router-dom'
import { api, type Page } from '../api/client'
import type { Dataset, DocumentItem, Hit } from '../api/types'
import { formatTime } from '../components/format'
import { Loadable } from '../components/States'
import UploadWizard from '../components/UploadWizard'
import { useLoad } from '../components/useLoad'

const STATUS_COLOR: Record<string, string> = { completed: 'success', error: 'error', paused: 'warning' }

function Documents({ datasetId, version }: { datasetId: string; version: number }) {
  const { t } = useTranslation()
  const { message } = App.useApp()
  const [page, setPage] = useState(1)
  const [renaming, setRenaming] = useState<DocumentItem | null>(null)
  const [name, setName] = useState('')
  const docs = useLoad(() => api<Page<DocumentItem>>(`/datasets/${datasetId}/documents`,
    { query: { current_page: page, page_size: 20 } }), [datasetId, page, version])
  const base = `/datasets/${datasetId}/documents`
  const act = async (path: string, body?: unknown, done = t('Done')) => {
    try {
      await api(path, { method: 'POST', body })
      message.success(done)
      docs.reload()
    } catch (e) {
      message.error((e as Error).message)
    }
  }
  return (
    <Loadable loading={docs.loading} error={docs.error} onRetry={docs.reload} empty={!docs.data?.list.length}
      emptyText={t('No documents yet: upload some')}>
      <Table rowKey="id" dataSource={docs.data?.list} size="small" data-testid="documents-table" scroll={{ x: 720 }}
        pagination={{ current: page, pageSize: 20, total: docs.data?.paginator.total_record, onChange: setPage }}
        columns={[
          { title: t('Name'), dataIndex: 'name', render: (n: string, d: DocumentItem) =>
            <Link to={`/console/datasets/${datasetId}/documents/${d.id}`}>{n}</Link> },
          { title: t('Status'), dataIndex: 'status', render: (s: string, d: DocumentItem) =>
            <Tag color={STATUS_COLOR[s] ?? 'processing'} title={d.error}>{t(s)}</Tag> },
          { title: t('Characters'), dataIndex: 'character_count' },
          { title: t('Hits'), dataIndex: 'hit_count' },
          { title: t('Enabled'), dataIndex: 'enabled', render: (e: boolean, d: DocumentItem) =>
            <Switch size="small" checked={e} disabled={d.status !== 'completed'}
              onChange={(v) => act(`${base}/${d.id}/enabled`, { enabled: v })} /> },
          { title: t('Uploaded'), dataIndex: 'created_at', render: formatTime },
          { title: '', key: 'actions', render: (_: unknown, d: DocumentItem) => (
            <Space size={0} wrap>
              <Button type="link" size="small" onClick={() => { setRenaming(d); setName(d.name) }}>{t('Rename')}</Button>
              {d.status === 'error' && <Button type="link" size="small" onClick={() => act(`${base}/${d.id}/retry`)}>{t('Retry')}</Button>}
              {['waiting', 'parsing', 'splitting', 'indexing'].includes(d.status) &&
                <Button type="link" size="small" onClick={() => act(`${base}/${d.id}/pause`)}>{t('Pause')}</Button>}
              {d.status === 'paused' && <Button type="link" size="small" onClick={() => act(`${base}/${d.id}/resume`)}>{t('Resume')}</Button>}
              <Popconfirm title={t('Delete this document?')} onConfirm={() => act(`${base}/${d.id}/delete`)}>
                <Button type="link" size="small" danger>{t('Delete')}</Button>
              </Popconfirm>
            </Space>
          ) },
        ]} />
      <Modal open={!!renaming} title={t('Rename')} onCancel={() => setRenaming(null)} onOk={async () => {
        await act(`${base}/${renaming!.id}/name`, { name })
        setRenaming(null)
      }}>
        <Input value={name} onChange={(e) => setName(e.target.value)} maxLength={255} />
      </Modal>
    </Loadable>
  )
}

function HitTest({ datasetId, onQueried }: { datasetId: string; onQueried: () => void }) {
  const { t } = useTranslation()
  const [hits, setHits] = useState<Hit[] | null>(null)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<Error | null>(null)
  const run = async (values: { query: string; retrieval_strategy: string; k: number; score: number }) => {
    setBusy(true)
    setError(null)
    try {
      setHits(await api<Hit[]>(`/datasets/${datasetId}/hit`, { method: 'POST', body: values }))
      onQueried()
    } catch (e) {
      setError(e as Error)
    } finally {
      setBusy(false)
    }
  }
  return (
    <div data-testid="hit-test">
      <Form name="hit" layout="vertical" onFinish={run} initialValues={{ retrieval_strategy: 'semantic', k: 4, score: 0 }}>
        <Form.Item name="query" label={t('Query')} rules={[{ required: true, max: 200 }]}>
          <Input.TextArea rows={2} data-testid="hit-query" />
        </Form.Item>
        <Space wrap align="end">
          <Form.Item name="retrieval_strategy" label={t('Retrieval strategy')}>
            <Radio.Group optionType="button" data-testid="hit-strategy" options={[
              { label: t('semantic'), value: 'semantic' }, { label: t('full_text'), value: 'full_text' },
              { label: t('hybrid'), value: 'hybrid' }]} />
          </Form.Item>
          <Form.Item name="k" label={t('Top k')}><InputNumber min={1} max={10} /></Form.Item>
          <Form.Item name="score" label={t('Minimum score')}><InputNumber min={0} max={0.99} step={0.05} /></Form.Item>
          <Form.Item><Button type="primary" htmlType="submit" loading={busy} data-testid="hit-run">{t('Test')}</Button></Form.Item>
        </Space>
      </Form>
      <Loadable loading={busy} error={error} empty={hits !== null && !hits.length} emptyText={t('No segment matches')}>
        {hits && <List dataSource={hits} data-testid="hit-results" renderItem={(h) => (
          <List.Item data-testid="hit">
            <div style={{ width: '100%' }}>
              <Space wrap><Tag color="blue" data-testid="hit-score">{t('score')} {h.score.toFixed(3)}</Tag>
                <Tag>{h.document.name}</Tag><Typography.Text type="secondary">#{h.position}</Typography.Text></Space>
              <Typography.Paragraph ellipsis={{ rows: 4, expandable: true }} style={{ marginTop: 4 }}>{h.content}</Typography.Paragraph>
            </div>
          </List.Item>
        )} />}
      </Loadable>
    </div>
  )
}

function RecentQueries({ datasetId, version }: { datasetId: string; version: number }) {
  const { t } = useTranslation()
  const queries = useLoad(() => api<{ id: string; query: string; source: string; created_at: number }[]>(
    `/datasets/${datasetId}/queries`), [datasetId, version])
  return (
    <Loadable loading={queries.loading} error={queries.error} onRetry={queries.reload} empty={!queries.data?.length}
      emptyText={t('No queries yet')}>
      <List size="small" dataSource={queries.data} renderItem={(q) => (
        <List.Item><span>{q.query}</span><Space><Tag>{q.source}</Tag><span>{formatTime(q.created_at)}</span></Space></List.Item>
      )} />
    </Loadable>
  )
}

export default function DatasetPage() {
  const { datasetId = '' } = useParams()
  const { t } = useTranslation()
  const [version, setVersion] = useState(0)
  const [tab, setTab] = useState('documents')
  const dataset = useLoad(() => api<Dataset>(`/datasets/${datasetId}`), [datasetId, version])
  const bump = () => setVersion((v) => v + 1)
  return (
    <div className="page">
      <div className="page-header">
        <Space wrap>
          <Link to="/console/datasets"><Button icon={<ArrowLeftOutlined />} /></Link>
          <h2>{dataset.data?.name ?? '…'}</h2>
          {dataset.data && <Typography.Text type="secondary">
            {t('{{n}} documents', { n: dataset.data.document_count })} · {t('{{n}} hits', { n: dataset.data.hit_count ?? 0 })}
          </Typography.Text>}
        </Space>
      </div>
      <Loadable loading={dataset.loading} error={dataset.error} onRetry={dataset.reload} empty={!dataset.data}>
        <Card size="small">
          <Tabs activeKey={tab} onChange={setTab} items={[
            { key: 'documents', label: t('Documents'), children: <Documents datasetId={datasetId} version={version} /> },
            { key: 'upload', label: t('Upload'), children: <UploadWizard datasetId={datasetId} onFinished={bump} /> },
            { key: 'hit', label: t('Hit test'), children: <HitTest datasetId={datasetId} onQueried={bump} /> },
            { key: 'queries', label: t('Recent queries'), children: <RecentQueries datasetId={datasetId} version={version} /> },
          ]} />
        </Card>
      </Loadable>
    </div>
  )
}
