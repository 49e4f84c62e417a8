import { CheckCircleOutlined, MinusCircleOutlined, PlusOutlined } from '@ant-design/icons'
import { Alert, App, Avatar, Button, Form, Input, Modal, Popconfirm, Space, Table, Tag, Typography } from 'antd'
import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { api, ApiError, type Page } from '../api/client'
import type { ApiToolProvider } from '../api/types'
import { formatTime } from '../components/format'
import { Loadable } from '../components/States'
import { useLoad } from '../components/useLoad'

const EXAMPLE = JSON.stringify({
  description: 'Dictionary lookups',
  server: 'https://dict.example.com',
  paths: {
    '/suggest': {
      get: {
        description: 'Look a word up', operationId: 'Suggest',
        parameters: [{ name: 'q', in: 'query', description: 'the word', required: true, type: 'str' }],
      },
    },
  },
}, null, 2)

interface CreateValues {
  name: string
  icon: string
  openapi_schema: string
  headers?: { key: string; value: string }[]
}

/** The account's custom API tool providers: list, create (schema checked by the server), delete. */
export default function ApiToolsPage() {
  const { t } = useTranslation()
  const { message } = App.useApp()
  const [page, setPage] = useState(1)
  const [search, setSearch] = useState('')
  const [creating, setCreating] = useState(false)
  const [saving, setSaving] = useState(false)
  const [checked, setChecked] = useState<{ ok: boolean; text: string } | null>(null)
  const [form] = Form.useForm<CreateValues>()
  const providers = useLoad(() => api<Page<ApiToolProvider>>('/api-tools',
    { query: { current_page: page, page_size: 20, search_word: search } }), [page, search])

  const validate = async () => {
    const schema = form.getFieldValue('openapi_schema') ?? ''
    try {
      const found = await api<{ tools: string[] }>('/api-tools/validate-openapi-schema',
        { method: 'POST', body: { openapi_schema: schema } })
      setChecked({ ok: true, text: t('Valid: {{n}} tools ({{names}})', { n: found.tools.length, names: found.tools.join(', ') }) })
      return true
    } catch (e) {
      setChecked({ ok: false, text: (e as Error).message })
      return false
    }
  }

  const create = async () => {
    const v = await form.validateFields()
    setSaving(true)
    try {
      await api('/api-tools', {
        method: 'POST',
        body: { name: v.name, icon: v.icon, openapi_schema: v.openapi_schema, headers: (v.headers ?? []).filter((h) => h?.key).map((h) => ({ key: h.key.trim(), value: h.value ?? '' })) },
      })
      message.success(t('API tool created'))
      setCreating(false)
      form.resetFields()
      setChecked(null)
      providers.reload()
    } catch (e) {
      if (e instanceof ApiError && e.status === 422 && e.data && typeof e.data === 'object') {
        const known = ['name', 'icon', 'openapi_schema']
        const fields = Object.entries(e.data as Record<string, string[]>).filter(([k]) => known.includes(k))
        form.setFields(fields.map(([k, msgs]) => ({ name: k as keyof CreateValues, errors: msgs.map(String) })))
        if (fields.length === 0) setChecked({ ok: false, text: e.message })
      } else if (e instanceof ApiError && e.status === 400) {
        setChecked({ ok: false, text: e.message })
      } else message.error((e as Error).message)
    } finally {
      setSaving(false)
    }
  }

  const remove = async (p: ApiToolProvider) => {
    await api(`/api-tools/${p.id}/delete`, { method: 'POST' })
    message.success(t('Deleted'))
    providers.reload()
  }

  return (
    <div className="page">
      <div className="page-header">
        <h2>{t('API tools')}</h2>
        <Space wrap>
          <Input.Search allowClear placeholder={t('Search by name')} onSearch={(v) => { setPage(1); setSearch(v) }}
            style={{ width: 200 }} />
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setCreating(true)} data-testid="create-api-tool">
            {t('Create API tool')}
          </Button>
        </Space>
      </div>
      <Typography.Paragraph type="secondary">
        {t('An API tool is a schema of HTTP operations an agent app may call; bind its operations to an app in the editor\'s Tools card.')}
      </Typography.Paragraph>
      <Loadable loading={providers.loading} error={providers.error} onRetry={providers.reload}
        empty={!providers.data?.list.length} emptyText={t('No API tools yet')}>
        <Table rowKey="id" size="small" dataSource={providers.data?.list} data-testid="api-tools-table" scroll={{ x: 760 }}
          pagination={{ current: page, pageSize: 20, total: providers.data?.paginator.total_record, onChange: setPage }}
          columns={[
            { title: t('Name'), dataIndex: 'name', render: (name: string, p: ApiToolProvider) => <Space>
              <Avatar shape="square" size="small" src={p.icon || undefined}>{name.slice(0, 1)}</Avatar>{name}</Space> },
            { title: t('Description'), dataIndex: 'description', render: (d: string) => d || '—' },
            { title: t('Tools'), dataIndex: 'tools', render: (tools: ApiToolProvider['tools']) => <Space size={4} wrap>
              {tools.map((x) => <Tag key={x.id}>{x.name}</Tag>)}</Space> },
            { title: t('Headers'), dataIndex: 'headers', render: (hs: ApiToolProvider['headers']) => hs.length
              ? hs.map((h) => <div key={h.key}><Typography.Text code>{h.key}: {h.value}</Typography.Text></div>) : '—' },
            { title: t('Created'), dataIndex: 'created_at', render: formatTime },
            { title: '', key: 'del', render: (_: unknown, p: ApiToolProvider) => (
              <Popconfirm title={t('Delete this API tool? Apps using it lose it.')} onConfirm={() => remove(p)}>
                <Button type="link" danger size="small" data-testid="delete-api-tool">{t('Delete')}</Button>
              </Popconfirm>) },
          ]} />
      </Loadable>
      <Modal open={creating} title={t('Create API tool')} onOk={create} okText={t('Create')} confirmLoading={saving}
        onCancel={() => { setCreating(false); setChecked(null) }} width={680} destroyOnHidden>
        <Form name="createApiTool" form={form} layout="vertical" data-testid="create-api-tool-form"
          initialValues={{ headers: [] }} onValuesChange={(c) => { if ('openapi_schema' in c) setChecked(null) }}>
          <Form.Item name="name" label={t('Name')} rules={[{ required: true, max: 30 }]}><Input maxLength={30} /></Form.Item>
          <Form.Item name="icon" label={t('Icon URL')} rules={[{ required: true, max: 512 }]}>
            <Input placeholder="https://…/icon.png" />
          </Form.Item>
          <Form.Item name="openapi_schema" label={t('Schema (JSON: the course\'s simplified schema or OpenAPI 3)')}
            rules={[{ required: true, max: 100_000 }]} extra={<Space wrap style={{ marginTop: 4 }}>
              <Button size="small" onClick={() => void validate()} icon={<CheckCircleOutlined />} data-testid="validate-schema">
                {t('Validate')}</Button>
              <Button size="small" type="link" onClick={() => form.setFieldValue('openapi_schema', EXAMPLE)}>
                {t('Insert an example')}</Button>
            </Space>}>
            <Input.TextArea rows={10} spellCheck={false} style={{ fontFamily: 'monospace' }} data-testid="schema-input" />
          </Form.Item>
          {checked && <Alert type={checked.ok ? 'success' : 'error'} showIcon title={checked.text} style={{ marginBottom: 12 }}
            data-testid="schema-check" />}
          <Typography.Text strong>{t('Headers')}</Typography.Text>
          <Typography.Paragraph type="secondary" style={{ marginBottom: 8 }}>
            {t('Sent with every call (e.g. Authorization); values are stored encrypted and shown masked.')}
          </Typography.Paragraph>
          <Form.List name="headers">
            {(fields, { add, remove: drop }) => <>
              {fields.map((f) => (
                <div key={f.key} className="header-row">
                  <Form.Item name={[f.name, 'key']} rules={[{ required: true, message: t('Header name') }]} style={{ flex: 1, minWidth: 140 }}>
                    <Input placeholder={t('Header name')} />
                  </Form.Item>
                  <Form.Item name={[f.name, 'value']} style={{ flex: 2, minWidth: 160 }}>
                    <Input.Password placeholder={t('Value')} autoComplete="new-password" />
                  </Form.Item>
                  <Button type="text" icon={<MinusCircleOutlined />} aria-label={t('Remove')} onClick={() => drop(f.name)} />
                </div>
              ))}
              <Button size="small" icon={<PlusOutlined />} onClick={() => add({ key: '', value: '' })}>{t('Add header')}</Button>
            </>}
          </Form.List>
        </Form>
      </Modal>
    </div>
  )
}
