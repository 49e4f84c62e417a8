/** The app editor's tools: the draft's tools as the editor holds them, back to the references the
 * draft is saved with, and the save's 422 field errors (`tools[1].params.allowed_hosts`) per tool. */
import type { ApiToolProvider, BuiltinProvider, BuiltinTool, DraftTool, ToolRef } from '../api/types'

/** One bound tool in the editor: the reference plus what the list shows. */
export interface ToolEntry extends ToolRef {
  label: string
  providerLabel: string
  icon: string
  description: string
}

/** The icon route of a builtin tool provider (public: `<img src>`). */
export const builtinIcon = (provider: string) => `/builtin-tools/${encodeURIComponent(provider)}/icon`

/** The key that identifies a bound tool (a tool is bound at most once). */
export const toolKey = (t: Pick<ToolRef, 'type' | 'provider_id' | 'tool_id'>) => `${t.type}:${t.provider_id}/${t.tool_id}`

/** `GET /apps/:id/draft-app-config`'s `tools` → editor entries. */
export function fromDraft(tools: DraftTool[]): ToolEntry[] {
  return tools.map((t) => ({
    type: t.type,
    provider_id: t.provider.id,
    tool_id: t.tool.id,
    params: { ...(t.tool.params ?? {}) },
    label: t.tool.label || t.tool.name,
    providerLabel: t.provider.label || t.provider.name,
    icon: t.type === 'builtin_tool' ? builtinIcon(t.provider.id) : t.provider.icon,
    description: t.tool.description,
  }))
}

/** Editor entries → the draft's `tools` (`{type, provider_id, tool_id, params}`); API tools take no params. */
export function toRefs(entries: ToolEntry[]): ToolRef[] {
  return entries.map((e) => ({
    type: e.type,
    provider_id: e.provider_id,
    tool_id: e.tool_id,
    params: e.type === 'builtin_tool'
      ? Object.fromEntries(Object.entries(e.params ?? {}).filter(([, v]) => v !== undefined))
      : {},
  }))
}

/** A builtin tool newly added: its params start at their defaults (a required one without default: empty). */
export function builtinEntry(provider: BuiltinProvider, tool: BuiltinTool): ToolEntry {
  const params: Record<string, unknown> = {}
  for (const p of tool.params) {
    if (p.default !== null && p.default !== undefined) params[p.name] = p.default
    else if (p.required) params[p.name] = p.type === 'boolean' ? false : ''
  }
  return {
    type: 'builtin_tool', provider_id: provider.name, tool_id: tool.name, params,
    label: tool.label || tool.name, providerLabel: provider.label || provider.name,
    icon: builtinIcon(provider.name), description: tool.description,
  }
}

/** An API tool newly added (referenced by its id). */
export function apiEntry(provider: ApiToolProvider, tool: ApiToolProvider['tools'][number]): ToolEntry {
  return {
    type: 'api_tool', provider_id: provider.id, tool_id: tool.id, params: {},
    label: tool.name, providerLabel: provider.name, icon: provider.icon, description: tool.description,
  }
}

export interface ToolErrors {
  /** Problems of the whole list (`tools`: too many tools, not a list). */
  general: string[]
  /** Problems of one tool, by its index in the list: `params.allowed_hosts: required`. */
  byIndex: Record<number, string[]>
}

/** A 422's `data` (`{field: [messages]}`) → the problems of the `tools` field, or null when it names none. */
export function toolErrors(data: unknown): ToolErrors | null {
  if (!data || typeof data !== 'object') return null
  const found: ToolErrors = { general: [], byIndex: {} }
  let any = false
  for (const [field, raw] of Object.entries(data as Record<string, unknown>)) {
    if (field !== 'tools' && !field.startsWith('tools[') && !field.startsWith('tools.')) continue
    any = true
    const messages = (Array.isArray(raw) ? raw : [raw]).map(String)
    const m = /^tools\[(\d+)\]\.?(.*)$/.exec(field)
    if (m) {
      const where = m[2]
      const list = (found.byIndex[Number(m[1])] ??= [])
      for (const msg of messages) list.push(where ? `${where}: ${msg}` : msg)
    } else {
      found.general.push(...messages)
    }
  }
  return any ? found : null
}
