import { DeleteOutlined, PlusOutlined } from '@ant-design/icons'
import {
  Alert, Avatar, Button, Input, InputNumber, List, Modal, Segmented, Select, Space, Switch, Tabs, Tag, Typography,
} from 'antd'
import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { Link } from 'react-router-dom'
import { api, type Page } from '../api/client'
import type { ApiToolProvider, BuiltinProvider, ToolCategory, ToolParamSpec } from '../api/types'
import { Loadable } from './States'
import { apiEntry, builtinEntry, builtinIcon, toolKey, type ToolEntry, type ToolErrors } from './tools'
import { useLoad } from './useLoad'

function ParamInput({ spec, value, onChange, invalid }: {
  spec: ToolParamSpec
  value: unknown
  onChange: (v: unknown) => void
  invalid: boolean
}) {
  const testid = `tool-param-${spec.name}`
  const status = invalid ? 'error' : undefined
  if (spec.type === 'number') {
    return <InputNumber size="small" min={spec.min ?? undefined} max={spec.max ?? undefined} data-testid={testid} status={status}
      value={typeof value === 'number' ? value : null} onChange={(v) => onChange(v ?? undefined)} />
  }
  if (spec.type === 'boolean') return <Switch size="small" checked={!!value} onChange={onChange} data-testid={testid} />
  if (spec.type === 'select') {
    return <Select size="small" style={{ minWidth: 180 }} value={value as string} onChange={onChange} data-testid={testid} status={status}
      options={spec.options.map((o) => ({ label: o.label, value: o.value }))} />
  }
  return <Input size="small" value={(value as string) ?? ''} onChange={(e) => onChange(e.target.value)} data-testid={testid}
    placeholder={spec.help} status={status ?? (spec.required && !value ? 'warning' : undefined)} style={{ maxWidth: 320 }} />
}

/** The app's tools (a form value: `ToolEntry[]`): each with its params form and remove; `specs` maps
 * `provider/tool` of builtin tools to their params; `errors` are the last save's 422 problems. */
export function ToolsField({ value = [], onChange, specs, errors }: {
  value?: ToolEntry[]
  onChange?: (v: ToolEntry[]) => void
  specs: Record<string, ToolParamSpec[]>
  errors?: ToolErrors | null
}) {
  const { t } = useTranslation()
  const [picking, setPicking] = useState(false)
  const setParam = (i: number, name: string, v: unknown) =>
    onChange?.(value.map((e, j) => (j === i ? { ...e, params: { ...e.params, [name]: v } } : e)))
  return (
    <>
      {errors && errors.general.length > 0 && (
        <Alert type="error" showIcon title={errors.general.join('; ')} style={{ marginBottom: 8 }} data-testid="tools-error" />
      )}
      {value.length === 0
        ? <Typography.Text type="secondary">{t('No tools: the app answers without calling any.')}</Typography.Text>
        : <List size="small" dataSource={value} data-testid="tool-list" renderItem={(entry, i) => {
            const params = entry.type === 'builtin_tool' ? specs[`${entry.provider_id}/${entry.tool_id}`] ?? [] : []
            const problems = errors?.byIndex[i] ?? []
            // `params.allowed_hosts: required` goes under that param's input, named by its label
            const paramProblem = (name: string) => problems.find((m) => m.startsWith(`params.${name}: `))
            const others = problems.filter((m) => !params.some((p) => m.startsWith(`params.${p.name}: `)))
            return (
              <List.Item data-testid="tool-item" data-tool={`${entry.provider_id}/${entry.tool_id}`}
                actions={[<Button key="rm" type="text" danger size="small" icon={<DeleteOutlined />} aria-label={t('Remove')}
                  data-testid="tool-remove" onClick={() => onChange?.(value.filter((_, j) => j !== i))} />]}>
                <List.Item.Meta
                  avatar={<Avatar shape="square" src={entry.icon || undefined} alt="">{entry.providerLabel.slice(0, 1)}</Avatar>}
                  title={<Space size={4} wrap>{entry.label}<Typography.Text type="secondary">· {entry.providerLabel}</Typography.Text>
                    {entry.type === 'api_tool' && <Tag>{t('API tool')}</Tag>}</Space>}
                  description={<>
                    <div className="tool-description">{entry.description}</div>
                    {params.map((p) => (
                      <div key={p.name} className="tool-param">
                        <Typography.Text>{t(p.label)}{p.required && <span className="required-mark"> *</span>}</Typography.Text>
                        <ParamInput spec={p} value={entry.params[p.name]} onChange={(v) => setParam(i, p.name, v)}
                          invalid={!!paramProblem(p.name)} />
                        {paramProblem(p.name) && <Typography.Text type="danger" data-testid="tool-error">
                          {t(p.label)}: {paramProblem(p.name)!.slice(`params.${p.name}: `.length)}</Typography.Text>}
                      </div>
                    ))}
                    {others.map((msg) => (
                      <div key={msg}><Typography.Text type="danger" data-testid="tool-error">{msg}</Typography.Text></div>
                    ))}
                  </>} />
              </List.Item>
            )
          }} />}
      <Button size="small" icon={<PlusOutlined />} style={{ marginTop: 8 }} onClick={() => setPicking(true)}
        data-testid="add-tool">{t('Add tool')}</Button>
      {picking && <ToolPicker added={new Set(value.map(toolKey))} onClose={() => setPicking(false)}
        onAdd={(entry) => onChange?.([...value, entry])} />}
    </>
  )
}

/** The "Add tool" dialog: builtin tools by category (with their icons) and the account's API tools. */
function ToolPicker({ added, onAdd, onClose }: {
  added: Set<string>
  onAdd: (e: ToolEntry) => void
  onClose: () => void
}) {
  const { t } = useTranslation()
  const [category, setCategory] = useState('all')
  const builtin = useLoad(() => Promise.all([
    api<BuiltinProvider[]>('/builtin-tools'), api<ToolCategory[]>('/builtin-tools/categories'),
  ]), [])
  const apiTools = useLoad(() => api<Page<ApiToolProvider>>('/api-tools', { query: { page_size: 50 } }), [])
  const [providers, categories] = builtin.data ?? [[], []]
  const present = categories.filter((c) => providers.some((p) => p.category === c.category))
  const shown = providers.filter((p) => category === 'all' || p.category === category)
  const addButton = (entry: ToolEntry) => {
    const on = added.has(toolKey(entry))
    return <Button key="add" size="small" type={on ? 'default' : 'primary'} disabled={on}
      data-testid={`add-tool-${entry.type === 'builtin_tool' ? entry.provider_id : 'api'}-${entry.type === 'builtin_tool' ? entry.tool_id : entry.label}`}
      onClick={() => onAdd(entry)}>{on ? t('Added') : t('Add')}</Button>
  }
  return (
    <Modal open title={t('Add tool')} onCancel={onClose} footer={<Button onClick={onClose} data-testid="tool-picker-done">{t('Done')}</Button>}
      width={640} data-testid="tool-picker">
      <Tabs items={[
        {
          key: 'builtin', label: t('Builtin tools'), children: (
            <Loadable loading={builtin.loading} error={builtin.error} onRetry={builtin.reload} empty={!builtin.data}>
              <Segmented size="small" value={category} onChange={(v) => setCategory(String(v))} style={{ marginBottom: 8 }}
                options={[{ label: t('All'), value: 'all' }, ...present.map((c) => ({ label: t(c.name), value: c.category }))]} />
              <List size="small" dataSource={shown} className="tool-picker-list" renderItem={(p) => (
                <List.Item>
                  <List.Item.Meta avatar={<Avatar shape="square" src={builtinIcon(p.name)} alt=""
                    style={{ background: p.background || undefined }} />}
                    title={p.label} description={<>
                      <div>{p.description}</div>
                      {p.tools.map((tool) => (
                        <div key={tool.name} className="tool-pick-row">
                          <span><b>{tool.label}</b> <Typography.Text type="secondary">{tool.description}</Typography.Text></span>
                          {addButton(builtinEntry(p, tool))}
                        </div>
                      ))}
                    </>} />
                </List.Item>
              )} />
            </Loadable>
          ),
        },
        {
          key: 'api', label: t('API tools'), children: (
            <Loadable loading={apiTools.loading} error={apiTools.error} onRetry={apiTools.reload}
              empty={!apiTools.data?.list.length}
              emptyText={<>{t('No API tools yet')} · <Link to="/console/api-tools">{t('Create one')}</Link></>}>
              <List size="small" dataSource={apiTools.data?.list ?? []} renderItem={(p) => (
                <List.Item>
                  <List.Item.Meta avatar={<Avatar shape="square" src={p.icon || undefined}>{p.name.slice(0, 1)}</Avatar>}
                    title={p.name} description={<>
                      <div>{p.description}</div>
                      {p.tools.map((tool) => (
                        <div key={tool.id} className="tool-pick-row">
                          <span><b>{tool.name}</b> <Typography.Text type="secondary">{tool.description}</Typography.Text></span>
                          {addButton(apiEntry(p, tool))}
                        </div>
                      ))}
                    </>} />
                </List.Item>
              )} />
            </Loadable>
          ),
        },
      ]} />
    </Modal>
  )
}
