import { CopyOutlined, PlusOutlined } from '@ant-design/icons'
import { Alert, App, Button, DatePicker, Form, Input, InputNumber, Modal, Popconfirm, Select, Space, Switch, Table, Tag, Typography } from 'antd'
import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { api, type Page } from '../api/client'
import type { ApiKey, Provider } from '../api/types'
import { formatCredits, formatTime } from '../components/format'
import { Loadable } from '../components/States'
import { useLoad } from '../components/useLoad'

export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text)
    return true
  } catch {
    return false
  }
}

export default function KeysPage() {
  const { t } = useTranslation()
  const { message } = App.useApp()
  const [page, setPage] = useState(1)
  const [creating, setCreating] = useState(false)
  const [plain, setPlain] = useState<string | null>(null)
  const [form] = Form.useForm()
  const keys = useLoad(() => api<Page<ApiKey>>('/api-keys', { query: { current_page: page, page_size: 20 } }), [page])
  const providers = useLoad(() => api<Provider[]>('/language-models'), [])
  const modelNames = (providers.data ?? []).filter((p) => p.configured).flatMap((p) => p.models.map((m) => m.name))

  const create = async () => {
    const v = await form.validateFields()
    const body = {
      remark: v.remark ?? '',
      quota: v.quota_usd ? Math.round(v.quota_usd * 1e6) : null,
      rpm: v.rpm ?? null, tpm: v.tpm ?? null, max_streams: v.max_streams ?? null,
      models: v.models ?? [],
      expires_at: v.expires ? Math.floor(v.expires.valueOf() / 1000) : null,
    }
    try {
      const created = await api<ApiKey>('/api-keys', { method: 'POST', body })
      setCreating(false)
      form.resetFields()
      setPlain(created.key ?? null)
      keys.reload()
    } catch (e) {
      message.error((e as Error).message)
    }
  }
  const setActive = async (k: ApiKey, is_active: boolean) => {
    await api(`/api-keys/${k.id}/is-active`, { method: 'POST', body: { is_active } })
    keys.reload()
  }
  const remove = async (k: ApiKey) => {
    await api(`/api-keys/${k.id}/delete`, { method: 'POST' })
    message.success(t('Deleted'))
    keys.reload()
  }

  return (
    <div className="page">
      <div className="page-header">
        <h2>{t('API keys')}</h2>
        <Button type="primary" icon={<PlusOutlined />} onClick={() => setCreating(true)} data-testid="create-key">
          {t('Create key')}
        </Button>
      </div>
      <Typography.Paragraph type="secondary">
        {t('Keys call the OpenAI-compatible gateway at')} <Typography.Text code>{window.location.origin}/v1</Typography.Text>
      </Typography.Paragraph>
      <Loadable loading={keys.loading} error={keys.error} onRetry={keys.reload} empty={!keys.data?.list.length}
        emptyText={t('No keys yet')}>
        <Table rowKey="id" size="small" dataSource={keys.data?.list} data-testid="keys-table" scroll={{ x: 800 }}
          pagination={{ current: page, pageSize: 20, total: keys.data?.paginator.total_record, onChange: setPage }}
          columns={[
            { title: t('Remark'), dataIndex: 'remark', render: (r: string) => r || '—' },
            { title: t('Key'), dataIndex: 'api_key', render: (k: string) => <Typography.Text code>{k}</Typography.Text> },
            { title: t('Cap'), dataIndex: 'quota', render: (q: number | null, k: ApiKey) =>
              q === null ? t('account balance') : `${formatCredits(k.used_quota ?? 0)} / ${formatCredits(q)}` },
            { title: t('Limits'), key: 'limits', render: (_: unknown, k: ApiKey) => <Space size={4} wrap>
              {k.rpm && <Tag>RPM {k.rpm}</Tag>}{k.tpm && <Tag>TPM {k.tpm}</Tag>}
              {k.max_streams && <Tag>{t('streams')} {k.max_streams}</Tag>}
              {k.models.length > 0 && <Tag>{k.models.join(', ')}</Tag>}
              {k.expires_at && <Tag>{t('expires')} {formatTime(k.expires_at)}</Tag>}</Space> },
            { title: t('Last used'), dataIndex: 'last_used_at', render: formatTime },
            { title: t('Active'), dataIndex: 'is_active', render: (a: boolean, k: ApiKey) =>
              <Switch size="small" checked={a} onChange={(v) => setActive(k, v)} data-testid="key-active" /> },
            { title: '', key: 'del', render: (_: unknown, k: ApiKey) => (
              <Popconfirm title={t('Delete this key? Clients using it stop working.')} onConfirm={() => remove(k)}>
                <Button type="link" danger size="small">{t('Delete')}</Button>
              </Popconfirm>) },
          ]} />
      </Loadable>
      <Modal open={creating} title={t('Create key')} onOk={create} onCancel={() => setCreating(false)} okText={t('Create')}
        destroyOnHidden>
        <Form name="createKey" form={form} layout="vertical" data-testid="create-key-form">
          <Form.Item name="remark" label={t('Remark')}><Input maxLength={255} /></Form.Item>
          <Form.Item name="quota_usd" label={t('Spending cap (USD, empty: the account balance)')}>
            <InputNumber min={0} step={1} style={{ width: '100%' }} />
          </Form.Item>
          <Space wrap>
            <Form.Item name="rpm" label="RPM"><InputNumber min={1} /></Form.Item>
            <Form.Item name="tpm" label="TPM"><InputNumber min={1} /></Form.Item>
            <Form.Item name="max_streams" label={t('Concurrent streams')}><InputNumber min={1} /></Form.Item>
          </Space>
          <Form.Item name="models" label={t('Allowed models (empty: all)')}>
            <Select mode="tags" options={modelNames.map((m) => ({ label: m, value: m }))} />
          </Form.Item>
          <Form.Item name="expires" label={t('Expires')}><DatePicker showTime style={{ width: '100%' }} /></Form.Item>
        </Form>
      </Modal>
      <Modal open={!!plain} title={t('Your new key')} onCancel={() => setPlain(null)} closable
        footer={<Button type="primary" onClick={() => setPlain(null)} data-testid="key-done">{t('I have copied it')}</Button>}>
        <Alert type="warning" showIcon title={t('Copy the key now: it is not shown again.')} style={{ marginBottom: 12 }} />
        <div className="key-once" data-testid="plain-key">{plain}</div>
        <Button icon={<CopyOutlined />} style={{ marginTop: 12 }} data-testid="copy-key"
          onClick={async () => {
            if (await copyText(plain ?? '')) message.success(t('Copied'))
            else message.warning(t('Select the key and copy it by hand'))
          }}>
          {t('Copy')}
        </Button>
      </Modal>
    </div>
  )
}
