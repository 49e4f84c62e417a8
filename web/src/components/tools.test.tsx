import { cleanup, fireEvent, render, screen } from '@testing-library/react'
import { App } from 'antd'
import { MemoryRouter } from 'react-router-dom'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import '../i18n'
import type { BuiltinProvider, DraftTool } from '../api/types'
import { builtinEntry, fromDraft, toolErrors, toolKey, toRefs } from './tools'
import { ToolsField } from './ToolsField'

const urlFetch: BuiltinProvider = {
  name: 'url_fetch', label: 'URL fetcher', description: 'Read pages', category: 'tool', background: '', created_at: 0,
  tools: [{
    name: 'url_fetch', label: 'Fetch URL', description: 'Fetch a URL', inputs: [],
    params: [{ name: 'allowed_hosts', label: 'Allowed hosts', type: 'string', required: true, default: null, min: null,
      max: null, help: 'Comma-separated host names', options: [] }],
  }],
}
const time: BuiltinProvider = {
  name: 'time', label: 'Time', description: '', category: 'tool', background: '', created_at: 0,
  tools: [{
    name: 'current_time', label: 'Current time', description: 'The time', inputs: [],
    params: [{ name: 'default_timezone', label: 'Default timezone', type: 'string', required: false, default: 'UTC',
      min: null, max: null, help: '', options: [] }],
  }],
}

beforeAll(() => {
  window.matchMedia ??= ((query: string) => ({
    matches: false, media: query, onchange: null, addListener: vi.fn(), removeListener: vi.fn(),
    addEventListener: vi.fn(), removeEventListener: vi.fn(), dispatchEvent: vi.fn(),
  })) as unknown as typeof window.matchMedia
  globalThis.ResizeObserver ??= class {
    observe() {}
    unobserve() {}
    disconnect() {}
  } as unknown as typeof ResizeObserver
})
afterEach(cleanup)

describe('tool entries', () => {
  it('start at their defaults, a required param without default empty', () => {
    expect(builtinEntry(time, time.tools[0]).params).toEqual({ default_timezone: 'UTC' })
    const fetcher = builtinEntry(urlFetch, urlFetch.tools[0])
    expect(fetcher.params).toEqual({ allowed_hosts: '' })
    expect(fetcher.icon).toBe('/builtin-tools/url_fetch/icon')
  })

  it('go from the draft shape to the saved references', () => {
    const draft: DraftTool[] = [
      { type: 'builtin_tool', provider: { id: 'time', name: 'time', label: 'Time', icon: 'http://h/x', description: '' },
        tool: { id: 'current_time', name: 'current_time', label: 'Current time', description: '',
          params: { default_timezone: 'Europe/Paris' } } },
      { type: 'api_tool', provider: { id: 'p-1', name: 'Dict', label: 'Dict', icon: 'https://i/y.png', description: '' },
        tool: { id: 't-1', name: 'Suggest', label: 'Suggest', description: 'Look up', params: {} } },
    ]
    const entries = fromDraft(draft)
    expect(entries.map((e) => [e.label, e.providerLabel, e.icon])).toEqual([
      ['Current time', 'Time', '/builtin-tools/time/icon'], ['Suggest', 'Dict', 'https://i/y.png']])
    expect(toRefs(entries)).toEqual([
      { type: 'builtin_tool', provider_id: 'time', tool_id: 'current_time', params: { default_timezone: 'Europe/Paris' } },
      { type: 'api_tool', provider_id: 'p-1', tool_id: 't-1', params: {} }])
    expect(new Set(entries.map(toolKey)).size).toBe(2)
  })

  it('read the 422 problems of the tools field by index', () => {
    expect(toolErrors({ preset_prompt: ['too long'] })).toBeNull()
    expect(toolErrors(null)).toBeNull()
    expect(toolErrors({ 'tools[1].params.allowed_hosts': ['required'], 'tools[0].tool_id': ['unknown builtin tool x/y'],
      tools: ['at most 10 tools'] })).toEqual({
      general: ['at most 10 tools'],
      byIndex: { 0: ['tool_id: unknown builtin tool x/y'], 1: ['params.allowed_hosts: required'] },
    })
  })
})

describe('ToolsField', () => {
  const specs = { 'url_fetch/url_fetch': urlFetch.tools[0].params, 'time/current_time': time.tools[0].params }
  const wrap = (ui: React.ReactNode) => render(<MemoryRouter><App>{ui}</App></MemoryRouter>)

  it('edits a tool\'s params, shows its save error and removes it', () => {
    const entries = [builtinEntry(time, time.tools[0]), builtinEntry(urlFetch, urlFetch.tools[0])]
    const onChange = vi.fn()
    wrap(<ToolsField value={entries} onChange={onChange} specs={specs}
      errors={{ general: [], byIndex: { 1: ['params.allowed_hosts: required'] } }} />)
    const items = screen.getAllByTestId('tool-item')
    expect(items.map((i) => i.dataset.tool)).toEqual(['time/current_time', 'url_fetch/url_fetch'])
    expect(items[1].textContent).toContain('Allowed hosts: required')
    expect(items[0].textContent).not.toContain('required')

    fireEvent.change(screen.getByTestId('tool-param-allowed_hosts'), { target: { value: 'intranet.example' } })
    expect(onChange).toHaveBeenLastCalledWith([entries[0], { ...entries[1], params: { allowed_hosts: 'intranet.example' } }])

    fireEvent.click(screen.getAllByTestId('tool-remove')[0])
    expect(onChange).toHaveBeenLastCalledWith([entries[1]])
  })

  it('says when the app has no tools', () => {
    wrap(<ToolsField value={[]} specs={specs} />)
    expect(screen.queryByTestId('tool-item')).toBeNull()
    expect(screen.getByText('No tools: the app answers without calling any.')).toBeTruthy()
  })
})
