import { ArrowLeftOutlined, PlusOutlined } from '@ant-design/icons'
import { App, Button, Form, Input, List, Modal, Popconfirm, Select, Space, Switch, Tag, Typography } from 'antd'
import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { Link, useParams } from 'react-router-dom'
import { api, type Page } from '../api/client'
import type { DocumentItem, Segment } from '../api/types'
import { Loadable } from '../components/States'
import { useLoad } from '../components/useLoad'

export default function DocumentPage() {
  const { datasetId = '', documentId = '' } = useParams()
  const { t } = useTranslation()
  const { message } = App.useApp()
  const [page, setPage] = useState(1)
  const [editing, setEditing] = useState<Segment | 'new' | null>(null)
  const [form] = Form.useForm()
  const base = `/datasets/${datasetId}/documents/${documentId}`
  const doc = useLoad(() => api<DocumentItem>(base), [base])
  const segments = useLoad(() => api<Page<Segment>>(`${base}/segments`, { query: { current_page: page, page_size: 20 } }),
    [base, page])

  const open = (s: Segment | 'new') => {
    setEditing(s)
    form.setFieldsValue(s === 'new' ? { content: '', keywords: [] } : { content: s.content, keywords: s.keywords })
  }
  const save = async () => {
    const values = await form.validateFields()
    try {
      if (editing === 'new') await api(`${base}/segments`, { method: 'POST', body: values })
      else await api(`${base}/segments/${(editing as Segment).id}`, { method: 'POST', body: values })
      message.success(t('Saved: the segment is embedded again'))
      setEditing(null)
      segments.reload()
    } catch (e) {
      message.error((e as Error).message)
    }
  }
  const toggle = async (s: Segment, enabled: boolean) => {
    await api(`${base}/segments/${s.id}/enabled`, { method: 'POST', body: { enabled } })
    segments.reload()
  }
  const remove = async (s: Segment) => {
    await api(`${base}/segments/${s.id}/delete`, { method: 'POST' })
    segments.reload()
  }

  return (
    <div className="page">
      <div className="page-header">
        <Space wrap>
          <Link to={`/console/datasets/${datasetId}`}><Button icon={<ArrowLeftOutlined />} /></Link>
          <h2>{doc.data?.name ?? '…'}</h2>
          {doc.data && <Tag>{t(doc.data.status)}</Tag>}
        </Space>
        <Button icon={<PlusOutlined />} onClick={() => open('new')} disabled={doc.data?.status !== 'completed'}>
          {t('Add segment')}
        </Button>
      </div>
      <Loadable loading={segments.loading} error={segments.error ?? doc.error} onRetry={segments.reload}
        empty={!segments.data?.list.length} emptyText={t('No segments')}>
        <List dataSource={segments.data?.list} data-testid="segments"
          pagination={{ current: page, pageSize: 20, total: segments.data?.paginator.total_record, onChange: setPage }}
          renderItem={(s) => (
            <List.Item actions={[
              <Switch key="e" size="small" checked={s.enabled} onChange={(v) => toggle(s, v)} />,
              <Button key="edit" type="link" size="small" onClick={() => open(s)}>{t('Edit')}</Button>,
              <Popconfirm key="d" title={t('Delete this segment?')} onConfirm={() => remove(s)}>
                <Button type="link" size="small" danger>{t('Delete')}</Button>
              </Popconfirm>,
            ]}>
              <List.Item.Meta title={<Space wrap><span>#{s.position}</span>
                <Typography.Text type="secondary">{t('{{n}} tokens', { n: s.token_count })} · {t('{{n}} hits', { n: s.hit_count })}</Typography.Text>
                {s.keywords.slice(0, 5).map((k) => <Tag key={k}>{k}</Tag>)}</Space>}
                description={<Typography.Paragraph ellipsis={{ rows: 3, expandable: true }}>{s.content}</Typography.Paragraph>} />
            </List.Item>
          )} />
      </Loadable>
      <Modal open={!!editing} title={editing === 'new' ? t('Add segment') : t('Edit segment')} onOk={save}
        onCancel={() => setEditing(null)} width={640}>
        <Form name="segment" form={form} layout="vertical">
          <Form.Item name="content" label={t('Content')} rules={[{ required: true }]}><Input.TextArea rows={8} /></Form.Item>
          <Form.Item name="keywords" label={t('Keywords')}><Select mode="tags" /></Form.Item>
        </Form>
      </Modal>
    </div>
  )
}
