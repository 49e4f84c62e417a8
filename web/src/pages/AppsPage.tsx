import { CopyOutlined, DeleteOutlined, PlusOutlined } from '@ant-design/icons'
import { App, Avatar, Button, Card, Col, Form, Input, Modal, Pagination, Popconfirm, Row, Tag, Tooltip, Typography } from 'antd'
import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { useNavigate } from 'react-router-dom'
import { api, type Page } from '../api/client'
import type { AppItem } from '../api/types'
import { formatTime, localIcon } from '../components/format'
import { Loadable } from '../components/States'
import { useLoad } from '../components/useLoad'

export default function AppsPage() {
  const { t } = useTranslation()
  const { message } = App.useApp()
  const navigate = useNavigate()
  const [search, setSearch] = useState('')
  const [page, setPage] = useState(1)
  const [creating, setCreating] = useState(false)
  const [form] = Form.useForm()
  const { data, loading, error, reload } = useLoad(
    () => api<Page<AppItem>>('/apps', { query: { search_word: search, current_page: page, page_size: 12 } }),
    [search, page])

  const create = async () => {
    const values = await form.validateFields()
    const created = await api<{ id: string }>('/apps', { method: 'POST', body: { ...values, icon: '' } })
    setCreating(false)
    form.resetFields()
    navigate(`/console/apps/${created.id}`)
  }
  const copy = async (id: string) => {
    await api(`/apps/${id}/copy`, { method: 'POST' })
    message.success(t('Copied'))
    reload()
  }
  const remove = async (id: string) => {
    await api(`/apps/${id}/delete`, { method: 'POST' })
    message.success(t('Deleted'))
    reload()
  }

  return (
    <div className="page">
      <div className="page-header">
        <h2>{t('Apps')}</h2>
        <div style={{ display: 'flex', gap: 8, flexWrap: 'wrap' }}>
          <Input.Search placeholder={t('Search apps')} allowClear onSearch={(v) => { setPage(1); setSearch(v) }}
            style={{ width: 220 }} data-testid="app-search" />
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setCreating(true)} data-testid="create-app">
            {t('Create app')}
          </Button>
        </div>
      </div>
      <Loadable loading={loading} error={error} onRetry={reload} empty={!data?.list.length}
        emptyText={search ? t('No app matches') : t('No apps yet: create one')}>
        <Row gutter={[16, 16]}>
          {data?.list.map((app) => (
            <Col xs={24} sm={12} lg={8} key={app.id}>
              <Card hoverable onClick={() => navigate(`/console/apps/${app.id}`)} data-testid="app-card"
                actions={[
                  <Tooltip title={t('Copy')} key="copy">
                    <CopyOutlined onClick={(e) => { e.stopPropagation(); void copy(app.id) }} />
                  </Tooltip>,
                  <Popconfirm key="delete" title={t('Delete this app?')} onConfirm={(e) => { e?.stopPropagation(); void remove(app.id) }}
                    onCancel={(e) => e?.stopPropagation()}>
                    <DeleteOutlined onClick={(e) => e.stopPropagation()} data-testid="delete-app" />
                  </Popconfirm>,
                ]}>
                <Card.Meta avatar={<Avatar src={localIcon(app.icon)} style={{ background: '#1677ff' }}>{app.name.slice(0, 1)}</Avatar>}
                  title={<span>{app.name} <Tag color={app.status === 'published' ? 'green' : 'default'}>{t(app.status)}</Tag></span>}
                  description={<>
                    <Typography.Paragraph ellipsis={{ rows: 2 }} style={{ marginBottom: 4 }}>{app.description || '—'}</Typography.Paragraph>
                    <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                      {app.model_config ? `${app.model_config.provider}/${app.model_config.model} · ` : ''}{formatTime(app.updated_at)}
                    </Typography.Text>
                  </>} />
              </Card>
            </Col>
          ))}
        </Row>
        <Pagination style={{ marginTop: 16 }} current={page} pageSize={12} total={data?.paginator.total_record}
          onChange={setPage} hideOnSinglePage />
      </Loadable>
      <Modal open={creating} title={t('Create app')} onOk={create} onCancel={() => setCreating(false)} okText={t('Create')}
        destroyOnHidden>
        <Form name="createApp" form={form} layout="vertical" data-testid="create-app-form">
          <Form.Item name="name" label={t('Name')} rules={[{ required: true, max: 40 }]}><Input /></Form.Item>
          <Form.Item name="description" label={t('Description')}><Input.TextArea rows={3} maxLength={800} /></Form.Item>
        </Form>
      </Modal>
    </div>
  )
}
