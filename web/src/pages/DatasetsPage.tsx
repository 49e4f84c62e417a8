import { DeleteOutlined, PlusOutlined } from '@ant-design/icons'
import { App, Avatar, Button, Card, Col, Form, Input, Modal, Pagination, Popconfirm, Row, Space, Statistic, Typography } from 'antd'
import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { useNavigate } from 'react-router-dom'
import { api, type Page } from '../api/client'
import type { Dataset } from '../api/types'
import { localIcon } from '../components/format'
import { Loadable } from '../components/States'
import { useLoad } from '../components/useLoad'

export default function DatasetsPage() {
  const { t } = useTranslation()
  const { message } = App.useApp()
  const navigate = useNavigate()
  const [search, setSearch] = useState('')
  const [page, setPage] = useState(1)
  const [creating, setCreating] = useState(false)
  const [form] = Form.useForm()
  const { data, loading, error, reload } = useLoad(
    () => api<Page<Dataset>>('/datasets', { query: { search_word: search, current_page: page, page_size: 12 } }),
    [search, page])

  const create = async () => {
    const values = await form.validateFields()
    const created = await api<{ id: string }>('/datasets', { method: 'POST', body: values })
    setCreating(false)
    form.resetFields()
    navigate(`/console/datasets/${created.id}`)
  }
  const remove = async (id: string) => {
    await api(`/datasets/${id}/delete`, { method: 'POST' })
    message.success(t('Deleted'))
    reload()
  }

  return (
    <div className="page">
      <div className="page-header">
        <h2>{t('Knowledge bases')}</h2>
        <Space wrap>
          <Input.Search placeholder={t('Search')} allowClear onSearch={(v) => { setPage(1); setSearch(v) }} style={{ width: 220 }} />
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setCreating(true)} data-testid="create-dataset">
            {t('Create knowledge base')}
          </Button>
        </Space>
      </div>
      <Loadable loading={loading} error={error} onRetry={reload} empty={!data?.list.length}
        emptyText={t('No knowledge bases yet')}>
        <Row gutter={[16, 16]}>
          {data?.list.map((d) => (
            <Col xs={24} sm={12} lg={8} key={d.id}>
              <Card hoverable onClick={() => navigate(`/console/datasets/${d.id}`)} data-testid="dataset-card"
                actions={[<Popconfirm key="d" title={t('Delete this knowledge base and its documents?')}
                  onConfirm={(e) => { e?.stopPropagation(); void remove(d.id) }} onCancel={(e) => e?.stopPropagation()}>
                  <DeleteOutlined onClick={(e) => e.stopPropagation()} />
                </Popconfirm>]}>
                <Card.Meta avatar={<Avatar src={localIcon(d.icon)} style={{ background: '#13c2c2' }}>{d.name.slice(0, 1)}</Avatar>}
                  title={d.name} description={<Typography.Paragraph ellipsis={{ rows: 2 }}>{d.description || '—'}</Typography.Paragraph>} />
                <Space size="large">
                  <Statistic title={t('Documents')} value={d.document_count} styles={{ content: { fontSize: 16 } }} />
                  <Statistic title={t('Characters')} value={d.character_count} styles={{ content: { fontSize: 16 } }} />
                  <Statistic title={t('Apps')} value={d.related_app_count} styles={{ content: { fontSize: 16 } }} />
                </Space>
              </Card>
            </Col>
          ))}
        </Row>
        <Pagination style={{ marginTop: 16 }} current={page} pageSize={12} total={data?.paginator.total_record}
          onChange={setPage} hideOnSinglePage />
      </Loadable>
      <Modal open={creating} title={t('Create knowledge base')} onOk={create} onCancel={() => setCreating(false)}
        okText={t('Create')} destroyOnHidden>
        <Form name="createDataset" form={form} layout="vertical" data-testid="create-dataset-form">
          <Form.Item name="name" label={t('Name')} rules={[{ required: true, max: 100 }]}><Input /></Form.Item>
          <Form.Item name="description" label={t('Description')}><Input.TextArea rows={3} /></Form.Item>
        </Form>
      </Modal>
    </div>
  )
}
