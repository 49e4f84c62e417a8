import { ArrowLeftOutlined, HistoryOutlined, SaveOutlined } from '@ant-design/icons'
import {
  App, Button, Card, Drawer, Form, Input, InputNumber, List, Popconfirm, Radio, Select, Slider, Space, Switch, Tag,
  Typography,
} from 'antd'
import { useEffect, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { Link, useParams } from 'react-router-dom'
import { api, ApiError, type Page } from '../api/client'
import type { AppItem, BuiltinProvider, Dataset, DraftConfig, Provider, PublishHistory, ToolParamSpec } from '../api/types'
import DebugChat from '../components/DebugChat'
import { formatTime } from '../components/format'
import { Loadable } from '../components/States'
import { fromDraft, toRefs, toolErrors, type ToolEntry, type ToolErrors } from '../components/tools'
import { ToolsField } from '../components/ToolsField'
import { useLoad } from '../components/useLoad'

/** A slider with its number beside it (one form value). */
function SliderInput({ value, onChange, min, max, step, placeholder }: {
  value?: number
  onChange?: (v: number | null) => void
  min?: number
  max?: number
  step: number
  placeholder?: number
}) {
  return (
    <div style={{ display: 'flex', gap: 12, alignItems: 'center', width: '100%' }}>
      <Slider min={min} max={max} step={step} value={value} onChange={(v) => onChange?.(v)} style={{ flex: 1 }} />
      <InputNumber size="small" min={min} max={max} step={step} value={value} onChange={onChange} style={{ width: 72 }}
        placeholder={placeholder === undefined ? undefined : String(placeholder)} />
    </div>
  )
}

interface EditorValues {
  model: string // provider/model
  parameters: Record<string, number>
  dialog_round: number
  preset_prompt: string
  opening_statement: string
  long_term_memory: boolean
  datasets: string[]
  retrieval_strategy: 'semantic' | 'full_text' | 'hybrid'
  k: number
  score: number
  tools: ToolEntry[]
}

function toValues(d: DraftConfig): EditorValues {
  return {
    model: `${d.model_config.provider}/${d.model_config.model}`,
    parameters: { ...d.model_config.parameters },
    dialog_round: d.dialog_round,
    preset_prompt: d.preset_prompt,
    opening_statement: d.opening_statement,
    long_term_memory: d.long_term_memory.enable,
    datasets: d.datasets.map((x) => x.id),
    retrieval_strategy: d.retrieval_config.retrieval_strategy,
    k: d.retrieval_config.k,
    score: d.retrieval_config.score,
    tools: fromDraft(d.tools ?? []),
  }
}

function toDraft(v: EditorValues) {
  const slash = v.model.indexOf('/')
  return {
    model_config: { provider: v.model.slice(0, slash), model: v.model.slice(slash + 1), parameters: v.parameters },
    dialog_round: v.dialog_round,
    preset_prompt: v.preset_prompt ?? '',
    opening_statement: v.opening_statement ?? '',
    long_term_memory: { enable: v.long_term_memory },
    datasets: v.datasets ?? [],
    retrieval_config: { retrieval_strategy: v.retrieval_strategy, k: v.k, score: v.score },
    tools: toRefs(v.tools ?? []),
  }
}

function MemoryPanel({ appId }: { appId: string }) {
  const { t } = useTranslation()
  const { message } = App.useApp()
  const [summary, setSummary] = useState('')
  const memory = useLoad(() => api<{ summary: string }>(`/apps/${appId}/summary`), [appId])
  useEffect(() => { if (memory.data) setSummary(memory.data.summary) }, [memory.data])
  const save = async () => {
    await api(`/apps/${appId}/summary`, { method: 'POST', body: { summary } })
    message.success(t('Memory saved'))
  }
  return (
    <Card size="small" title={t('Long-term memory')} data-testid="memory-panel"
      extra={<Space><Button size="small" onClick={memory.reload}>{t('Refresh')}</Button>
        <Button size="small" type="primary" onClick={save}>{t('Save')}</Button></Space>}>
      <Loadable loading={memory.loading} error={memory.error} onRetry={memory.reload}>
        <Input.TextArea rows={3} value={summary} onChange={(e) => setSummary(e.target.value)}
          placeholder={t('Nothing remembered yet: the worker folds each round into this summary')} />
      </Loadable>
    </Card>
  )
}

export default function AppEditorPage() {
  const { appId = '' } = useParams()
  const { t } = useTranslation()
  const { message } = App.useApp()
  const [form] = Form.useForm<EditorValues>()
  const [dirty, setDirty] = useState(false)
  const [saving, setSaving] = useState(false)
  const [versionsOpen, setVersionsOpen] = useState(false)
  const [toolProblems, setToolProblems] = useState<ToolErrors | null>(null)
  const app = useLoad(() => api<AppItem>(`/apps/${appId}`), [appId])
  const draft = useLoad(() => api<DraftConfig>(`/apps/${appId}/draft-app-config`), [appId])
  const providers = useLoad(() => api<Provider[]>('/language-models'), [])
  const datasets = useLoad(() => api<Page<Dataset>>('/datasets', { query: { page_size: 50 } }), [])
  const builtinTools = useLoad(() => api<BuiltinProvider[]>('/builtin-tools'), [])
  const paramSpecs: Record<string, ToolParamSpec[]> = Object.fromEntries((builtinTools.data ?? [])
    .flatMap((p) => p.tools.map((tool) => [`${p.name}/${tool.name}`, tool.params])))
  const versions = useLoad(() => versionsOpen
    ? api<Page<PublishHistory>>(`/apps/${appId}/publish-histories`, { query: { page_size: 50 } })
    : Promise.resolve(undefined), [appId, versionsOpen])
  const memoryOn = Form.useWatch('long_term_memory', form)
  const modelName = Form.useWatch('model', form)
  const boundDatasets = Form.useWatch('datasets', form)

  useEffect(() => {
    if (draft.data) {
      form.setFieldsValue(toValues(draft.data))
      setDirty(false)
    }
  }, [draft.data, form])

  const modelOptions = (providers.data ?? []).filter((p) => p.configured).map((p) => ({
    label: p.label,
    options: p.models.filter((m) => !m.kind || m.kind === 'language')
      .map((m) => ({ label: `${p.label} · ${m.label ?? m.name}`, value: `${p.name}/${m.name}` })),
  }))
  if (modelName && !modelOptions.some((g) => g.options.some((o) => o.value === modelName))) {
    modelOptions.push({ label: t('Other'), options: [{ label: modelName, value: modelName }] })
  }
  const spec = (providers.data ?? []).flatMap((p) => p.models.map((m) => ({ key: `${p.name}/${m.name}`, m })))
    .find((x) => x.key === modelName)?.m
  const parameters = spec?.parameters ?? [
    { name: 'temperature', label: 'Temperature', type: 'float', min: 0, max: 2, precision: 2 },
    { name: 'max_tokens', label: 'Max tokens', type: 'int', min: 1, max: 4096, precision: 0 },
  ]

  const save = async () => {
    const values = await form.validateFields()
    setSaving(true)
    try {
      const saved = await api<DraftConfig>(`/apps/${appId}/draft-app-config`, { method: 'POST', body: toDraft(values) })
      setDirty(false)
      setToolProblems(null)
      message.success(t('Draft saved'))
      draft.reload()
      return saved
    } catch (e) {
      if (e instanceof ApiError && e.status === 422) {
        setToolProblems(toolErrors(e.data))
        message.error(`${t('Not saved')}: ${e.message}`)
      } else message.error(String((e as Error).message))
      throw e
    } finally {
      setSaving(false)
    }
  }
  const saveIfDirty = async () => { if (dirty) await save() }

  const publish = async () => {
    await saveIfDirty() // a failed save has shown its error
    try {
      await api(`/apps/${appId}/publish`, { method: 'POST' })
    } catch (e) {
      message.error(`${t('Not published')}: ${(e as Error).message}`)
      throw e
    }
    message.success(t('Published'))
    app.reload()
    versions.reload()
  }
  const unpublish = async () => {
    await api(`/apps/${appId}/cancel-publish`, { method: 'POST' })
    message.success(t('Unpublished'))
    app.reload()
  }
  const rollback = async (version: PublishHistory) => {
    await api(`/apps/${appId}/fallback-history`, { method: 'POST', body: { app_config_version_id: version.id } })
    message.success(t('Draft restored from version {{v}}', { v: version.version }))
    draft.reload()
    setVersionsOpen(false)
  }

  return (
    <div className="page">
      <div className="page-header">
        <Space wrap>
          <Link to="/console/apps"><Button icon={<ArrowLeftOutlined />} /></Link>
          <h2 data-testid="app-name">{app.data?.name ?? '…'}</h2>
          {app.data && <Tag color={app.data.status === 'published' ? 'green' : 'default'} data-testid="app-status">
            {t(app.data.status)}</Tag>}
          {dirty && <Tag color="orange">{t('unsaved')}</Tag>}
        </Space>
        <Space wrap>
          <Button icon={<HistoryOutlined />} onClick={() => setVersionsOpen(true)} data-testid="versions">{t('Versions')}</Button>
          {app.data?.status === 'published' && (
            <Popconfirm title={t('Take the app offline?')} onConfirm={unpublish}>
              <Button>{t('Unpublish')}</Button>
            </Popconfirm>
          )}
          <Button icon={<SaveOutlined />} onClick={() => save().catch(() => undefined)} loading={saving} data-testid="save-draft">{t('Save')}</Button>
          <Button type="primary" onClick={() => publish().catch(() => undefined)} data-testid="publish">{t('Publish')}</Button>
        </Space>
      </div>
      <Loadable loading={draft.loading} error={draft.error ?? app.error} onRetry={draft.reload} empty={!draft.data}>
        <div className="editor-grid">
          <div>
            <Form name="editor" form={form} layout="vertical" onValuesChange={(changed: Partial<EditorValues>) => {
              setDirty(true)
              // the last save's tool errors stand until the tools change (an index may no longer match)
              if (changed.tools) setToolProblems(null)
            }} data-testid="editor-form">
              <Card size="small" title={t('Prompt')} style={{ marginBottom: 16 }}>
                <Form.Item name="preset_prompt" rules={[{ max: 2000 }]} style={{ marginBottom: 8 }}>
                  <Input.TextArea rows={6} placeholder={t('You are a helpful assistant…')} data-testid="prompt" />
                </Form.Item>
                <Form.Item name="opening_statement" label={t('Opening statement')} style={{ marginBottom: 0 }}>
                  <Input />
                </Form.Item>
              </Card>
              <Card size="small" title={t('Model')} style={{ marginBottom: 16 }}>
                <Form.Item name="model" label={t('Model')} rules={[{ required: true }]}>
                  <Select options={modelOptions} loading={providers.loading} showSearch data-testid="model-select" />
                </Form.Item>
                {parameters.map((p) => (
                  <Form.Item key={p.name} label={t(p.label ?? p.name)} style={{ marginBottom: 8 }}>
                    <Space.Compact style={{ width: '100%' }}>
                      <Form.Item name={['parameters', p.name]} noStyle>
                        {p.type === 'int'
                          ? <InputNumber min={p.min} max={p.max} precision={0} style={{ width: '100%' }}
                              placeholder={p.default === undefined ? undefined : String(p.default)}
                              data-testid={`param-${p.name}`} />
                          : <SliderInput min={p.min} max={p.max} step={10 ** -(p.precision ?? 2)} placeholder={p.default} />}
                      </Form.Item>
                    </Space.Compact>
                  </Form.Item>
                ))}
                <Form.Item name="dialog_round" label={t('Dialog rounds kept as context')}>
                  <InputNumber min={0} max={100} data-testid="dialog-round" />
                </Form.Item>
              </Card>
              <Card size="small" title={t('Knowledge')} style={{ marginBottom: 16 }}>
                <Form.Item name="datasets" label={t('Bound knowledge bases')}>
                  <Select mode="multiple" maxCount={5} loading={datasets.loading} data-testid="dataset-select"
                    options={(datasets.data?.list ?? []).map((d) => ({ label: d.name, value: d.id }))}
                    placeholder={t('None')} optionFilterProp="label" />
                </Form.Item>
                {(boundDatasets?.length ?? 0) > 0 && <>
                  <Form.Item name="retrieval_strategy" label={t('Retrieval strategy')}>
                    <Radio.Group optionType="button" options={[
                      { label: t('semantic'), value: 'semantic' }, { label: t('full_text'), value: 'full_text' },
                      { label: t('hybrid'), value: 'hybrid' }]} />
                  </Form.Item>
                  <Space wrap>
                    <Form.Item name="k" label={t('Top k')}><InputNumber min={1} max={10} /></Form.Item>
                    <Form.Item name="score" label={t('Minimum score')}><InputNumber min={0} max={0.99} step={0.05} /></Form.Item>
                  </Space>
                </>}
              </Card>
              <Card size="small" title={t('Tools')} style={{ marginBottom: 16 }} data-testid="tools-card"
                className={toolProblems ? 'card-invalid' : undefined}
                extra={<Link to="/console/api-tools">{t('API tools')}</Link>}>
                <Form.Item name="tools" style={{ marginBottom: 0 }}>
                  <ToolsField specs={paramSpecs} errors={toolProblems} />
                </Form.Item>
                {toolProblems && Object.keys(toolProblems.byIndex).length > 0 && (
                  <Typography.Paragraph type="danger" style={{ margin: '8px 0 0' }} data-testid="tools-error">
                    {t('Some tools are not configured correctly: see the messages above')}</Typography.Paragraph>)}
              </Card>
              <Card size="small" title={t('Memory')} style={{ marginBottom: 16 }}>
                <Form.Item name="long_term_memory" label={t('Long-term memory')} valuePropName="checked" style={{ marginBottom: 0 }}>
                  <Switch data-testid="memory-switch" />
                </Form.Item>
              </Card>
            </Form>
            {memoryOn && draft.data?.long_term_memory.enable && <MemoryPanel appId={appId} />}
          </div>
          <DebugChat appId={appId} beforeSend={saveIfDirty} />
        </div>
      </Loadable>
      <Drawer open={versionsOpen} onClose={() => setVersionsOpen(false)} title={t('Published versions')} size={420}>
        <Loadable loading={versions.loading} error={versions.error} onRetry={versions.reload}
          empty={!versions.data?.list.length} emptyText={t('Not published yet')}>
          <List dataSource={versions.data?.list ?? []} data-testid="version-list" renderItem={(v) => (
            <List.Item actions={[<Popconfirm key="r" title={t('Replace the draft with this version?')} onConfirm={() => rollback(v)}>
              <Button size="small">{t('Roll back')}</Button></Popconfirm>]}>
              <List.Item.Meta title={`v${v.version}`} description={<>
                <div>{formatTime(v.created_at)}</div>
                {v.model_config && <Typography.Text type="secondary">{v.model_config.provider}/{v.model_config.model}</Typography.Text>}
              </>} />
            </List.Item>
          )} />
        </Loadable>
      </Drawer>
    </div>
  )
}
