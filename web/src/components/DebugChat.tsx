import { ClearOutlined, SendOutlined, StopOutlined } from '@ant-design/icons'
import { Alert, App, Button, Card, Collapse, Input, Popconfirm, Space, Tag, Typography } from 'antd'
import { useEffect, useRef, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { api, type Page, stream } from '../api/client'
import type { SseEvent } from '../api/sse'
import type { ChatMessage, RetrievalRecord } from '../api/types'
import { Loadable } from './States'
import { useLoad } from './useLoad'

/** One round as the pane shows it: from a saved message or built from a stream's events. */
export interface Turn {
  key: string
  query: string
  answer: string
  status: 'streaming' | 'done' | 'stopped' | 'error'
  memory?: string
  sources?: RetrievalRecord[]
  sourcesText?: string
  tokens?: number
  latency?: number // seconds
  error?: string
  taskId?: string
  steps?: { id: string; event: string; thought: string; tool: string; observation: string }[]
}

/** Folds one SSE event of the studio's debug stream into the turn (pure: unit-tested). */
export function applyEvent(turn: Turn, { event, data }: SseEvent): Turn {
  const next = { ...turn, taskId: data?.task_id ?? turn.taskId }
  switch (event) {
    case 'long_term_memory_recall':
      return { ...next, memory: data.summary ?? data.observation ?? '' }
    case 'dataset_retrieval':
      return { ...next, sources: data.records ?? [], sourcesText: data.observation }
    case 'agent_thought':
    case 'agent_action':
      return { ...next, steps: [...(next.steps ?? []), { id: data.id, event, thought: data.thought ?? '',
        tool: data.tool ?? '', observation: data.observation ?? '' }] }
    case 'agent_message':
      return { ...next, answer: next.answer + (data.answer ?? '') }
    case 'agent_end':
      return { ...next, status: next.status === 'streaming' ? 'done' : next.status, tokens: data.total_token_count,
        latency: data.latency }
    case 'stop':
      return { ...next, status: 'stopped', tokens: data.total_token_count || next.tokens, latency: data.latency }
    case 'error':
      return { ...next, status: 'error', error: data.observation || data.message || 'error' }
    default:
      return next
  }
}

function fromMessage(m: ChatMessage): Turn {
  const memory = m.agent_thoughts.find((t) => t.event === 'long_term_memory_recall')
  const retrieval = m.agent_thoughts.find((t) => t.event === 'dataset_retrieval')
  return {
    key: m.id, query: m.query, answer: m.answer, status: m.status === 'stop' ? 'stopped' : 'done',
    memory: memory?.observation, sourcesText: retrieval?.observation, tokens: m.total_token_count, latency: m.latency,
  }
}

export function TurnView({ turn }: { turn: Turn }) {
  const { t } = useTranslation()
  return (
    <div data-testid="turn" data-status={turn.status}>
      <div className="chat-bubble user">{turn.query}</div>
      <div className="chat-bubble assistant">
        <div data-testid="answer">{turn.answer || (turn.status === 'streaming' ? '…' : '')}</div>
        {turn.error && <Alert type="error" showIcon title={turn.error} style={{ marginTop: 8 }} />}
        {turn.steps?.length ? (
          <Collapse size="small" style={{ marginTop: 8 }} data-testid="agent-steps" items={[{
            key: 'steps',
            label: `${t('Agent steps')} (${turn.steps.length})`,
            children: turn.steps.map((s, i) => (
              <div key={`${s.id}-${i}`} style={{ marginBottom: 6 }}>
                <Tag>{s.event === 'agent_action' ? t('tool') : t('thought')}</Tag>{s.tool && <Tag color="purple">{s.tool}</Tag>}
                <Typography.Text>{s.event === 'agent_action' ? s.observation : s.thought}</Typography.Text>
              </div>
            )),
          }]} />
        ) : null}
        {(turn.sources?.length || turn.sourcesText) ? (
          <Collapse size="small" style={{ marginTop: 8 }} data-testid="sources" items={[{
            key: 's',
            label: `${t('Sources')} (${turn.sources?.length ?? 1})`,
            children: turn.sources ? turn.sources.map((s) => (
              <div key={s.segment_id} style={{ marginBottom: 8 }} data-testid="source">
                <Tag color="blue">{s.document_name}</Tag><Tag>{t('score')} {s.score.toFixed(3)}</Tag>
                <Typography.Paragraph ellipsis={{ rows: 3, expandable: true }} style={{ margin: '4px 0 0' }}>
                  {s.content}
                </Typography.Paragraph>
              </div>
            )) : <Typography.Paragraph ellipsis={{ rows: 4, expandable: true }}>{turn.sourcesText}</Typography.Paragraph>,
          }]} />
        ) : null}
        <div className="chat-meta" style={{ marginTop: 6 }}>
          {turn.status === 'streaming' && <Tag color="processing">{t('streaming')}</Tag>}
          {turn.status === 'stopped' && <Tag color="orange" data-testid="stopped">{t('stopped')}</Tag>}
          {turn.memory !== undefined && (
            <Typography.Text type="secondary" data-testid="memory" title={turn.memory}>
              {t('Memory')}: {turn.memory ? turn.memory.slice(0, 60) : t('(empty)')}
            </Typography.Text>
          )}
          {turn.tokens !== undefined && <span data-testid="tokens">{t('Tokens')}: {turn.tokens}</span>}
          {turn.latency !== undefined && <span data-testid="latency">{t('Latency')}: {turn.latency.toFixed(2)} s</span>}
        </div>
      </div>
    </div>
  )
}

export default function DebugChat({ appId, beforeSend }: { appId: string; beforeSend?: () => Promise<void> }) {
  const { t } = useTranslation()
  const { message } = App.useApp()
  const [query, setQuery] = useState('')
  const [live, setLive] = useState<Turn[]>([])
  const [running, setRunning] = useState<Turn | null>(null)
  const runningRef = useRef<Turn | null>(null)
  const abortRef = useRef<AbortController | null>(null)
  const bottom = useRef<HTMLDivElement>(null)
  const history = useLoad(
    () => api<Page<ChatMessage>>(`/apps/${appId}/conversations/messages`, { query: { page_size: 20 } }), [appId])

  useEffect(() => { bottom.current?.scrollIntoView?.({ block: 'end' }) }, [running?.answer, live.length])
  useEffect(() => () => abortRef.current?.abort(), [])

  const update = (turn: Turn) => {
    runningRef.current = turn
    setRunning(turn)
  }

  const send = async () => {
    const text = query.trim()
    if (!text || running) return
    try {
      await beforeSend?.()
    } catch (e) {
      message.error(String((e as Error).message ?? e))
      return
    }
    setQuery('')
    const controller = new AbortController()
    abortRef.current = controller
    update({ key: `live-${Date.now()}`, query: text, answer: '', status: 'streaming' })
    try {
      await stream(`/apps/${appId}/conversations`, { query: text }, (e) => update(applyEvent(runningRef.current!, e)),
        controller.signal)
      const last = runningRef.current!
      update({ ...last, status: last.status === 'streaming' ? 'done' : last.status })
    } catch (e) {
      const last = runningRef.current!
      if (controller.signal.aborted) update({ ...last, status: 'stopped' })
      else update({ ...last, status: 'error', error: String((e as Error).message ?? e) })
    }
    const finished = runningRef.current!
    setLive((turns) => [...turns, finished])
    runningRef.current = null
    setRunning(null)
  }

  const stop = async () => {
    const taskId = runningRef.current?.taskId
    if (!taskId) {
      abortRef.current?.abort()
      return
    }
    try {
      await api(`/apps/${appId}/conversations/tasks/${taskId}/stop`, { method: 'POST' })
      // the server ends the stream with a `stop` event; give up waiting after a few seconds
      setTimeout(() => { if (runningRef.current?.taskId === taskId) abortRef.current?.abort() }, 5000)
    } catch {
      abortRef.current?.abort()
    }
  }

  const clear = async () => {
    await api(`/apps/${appId}/conversations/delete-debug-conversation`, { method: 'POST' })
    setLive([])
    history.reload()
  }

  const saved = [...(history.data?.list ?? [])].reverse().map(fromMessage)
  const liveKeys = new Set(live.map((l) => l.key))
  const turns = [...saved.filter((s) => !liveKeys.has(s.key)), ...live, ...(running ? [running] : [])]

  return (
    <Card title={t('Debug chat')} size="small" className="chat-pane" data-testid="debug-chat"
      styles={{ body: { flex: 1, display: 'flex', flexDirection: 'column', minHeight: 0 } }}
      extra={<Popconfirm title={t('Clear the debug conversation?')} onConfirm={clear}>
        <Button size="small" icon={<ClearOutlined />} disabled={!!running}>{t('Clear')}</Button>
      </Popconfirm>}>
      <div className="chat-messages" data-testid="chat-messages">
        <Loadable loading={history.loading} error={history.error} onRetry={history.reload} empty={!turns.length}
          emptyText={t('Ask something to try the draft')}>
          {turns.map((turn) => <TurnView key={turn.key} turn={turn} />)}
        </Loadable>
        <div ref={bottom} />
      </div>
      <Space.Compact style={{ width: '100%', marginTop: 8 }}>
        <Input.TextArea value={query} onChange={(e) => setQuery(e.target.value)} autoSize={{ minRows: 1, maxRows: 4 }}
          placeholder={t('Type a message, Enter to send')} data-testid="chat-input"
          onPressEnter={(e) => { if (!e.shiftKey) { e.preventDefault(); void send() } }} />
        {running ? (
          <Button danger icon={<StopOutlined />} onClick={stop} data-testid="chat-stop">{t('Stop')}</Button>
        ) : (
          <Button type="primary" icon={<SendOutlined />} onClick={send} data-testid="chat-send">{t('Send')}</Button>
        )}
      </Space.Compact>
    </Card>
  )
}
