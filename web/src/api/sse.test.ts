import { describe, expect, it } from 'vitest'
import { applyEvent, type Turn } from '../components/DebugChat'
import { readSse, type SseEvent, SseParser } from './sse'

const encoder = new TextEncoder()

/** A Response whose body yields `chunks` one by one (as a network would split them). */
function streamed(chunks: (string | Uint8Array)[]): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(typeof c === 'string' ? encoder.encode(c) : c)
      controller.close()
    },
  })
  return new Response(body, { headers: { 'Content-Type': 'text/event-stream' } })
}

async function collect(chunks: (string | Uint8Array)[]): Promise<SseEvent[]> {
  const events: SseEvent[] = []
  await readSse(streamed(chunks), (e) => events.push(e))
  return events
}

const STUDIO_STREAM = [
  'event: long_term_memory_recall\ndata: {"task_id": "t1", "summary": "likes tennis"}\n\n',
  'event: dataset_retrieval\ndata: {"task_id": "t1", "records": [{"segment_id": "s1", "document_name": "a.md", "score": 0.8, "content": "x"}]}\n\n',
  'event: agent_message\ndata: {"task_id": "t1", "answer": "Hel"}\n\n',
  'event: ping\ndata: {}\n\n',
  'event: agent_message\ndata: {"task_id": "t1", "answer": "lo"}\n\n',
  'event: agent_end\ndata: {"task_id": "t1", "total_token_count": 42, "latency": 1.25}\n\n',
].join('')

describe('readSse', () => {
  it('reads named events with JSON data', async () => {
    const events = await collect([STUDIO_STREAM])
    expect(events.map((e) => e.event)).toEqual(['long_term_memory_recall', 'dataset_retrieval', 'agent_message', 'ping',
      'agent_message', 'agent_end'])
    expect(events[2].data).toEqual({ task_id: 't1', answer: 'Hel' })
  })

  it('gives the same events whatever the chunk boundaries', async () => {
    const whole = await collect([STUDIO_STREAM])
    for (const size of [1, 2, 3, 7, 50]) {
      const chunks: string[] = []
      for (let i = 0; i < STUDIO_STREAM.length; i += size) chunks.push(STUDIO_STREAM.slice(i, i + size))
      expect(await collect(chunks)).toEqual(whole)
    }
  })

  it('keeps a multi-byte character split across chunks', async () => {
    const bytes = encoder.encode('event: agent_message\ndata: {"answer": "你好"}\n\n')
    const cut = bytes.indexOf(0xe4) + 1 // inside 你
    const events = await collect([bytes.slice(0, cut), bytes.slice(cut)])
    expect(events[0].data.answer).toBe('你好')
  })

  it('handles CRLF and CR line ends, comments, multi-line data and [DONE]', async () => {
    const events = await collect([': keep-alive\r\n', 'data: {"a":\r', '\n', 'data: 1}\r\n\r\n', 'data: [DONE]\r\n\r\n'])
    expect(events).toEqual([{ event: 'message', data: { a: 1 } }, { event: 'done', data: null }])
  })

  it('delivers a last frame that lacks its blank line', async () => {
    const events = await collect(['event: agent_end\ndata: {"latency": 2}'])
    expect(events).toEqual([{ event: 'agent_end', data: { latency: 2 } }])
  })

  it('hands non-JSON data over as text', () => {
    const events: SseEvent[] = []
    const parser = new SseParser((e) => events.push(e))
    parser.feed('event: note\ndata: plain words\n\n')
    expect(events).toEqual([{ event: 'note', data: 'plain words' }])
  })

  it('stops reading when aborted', async () => {
    const controller = new AbortController()
    let pull = 0
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        pull += 1
        c.enqueue(encoder.encode(`event: agent_message\ndata: {"answer": "${pull}"}\n\n`))
        return new Promise((r) => setTimeout(r, 5))
      },
    })
    const events: SseEvent[] = []
    const done = readSse(new Response(body), (e) => {
      events.push(e)
      if (events.length === 3) controller.abort()
    }, controller.signal)
    await done
    expect(events.length).toBeGreaterThanOrEqual(3)
    expect(events.length).toBeLessThan(6)
  })
})

describe('applyEvent (the debug pane folding a stream into a turn)', () => {
  it('builds the answer, memory, sources, tokens and latency', async () => {
    let turn: Turn = { key: 'k', query: 'q', answer: '', status: 'streaming' }
    for (const e of await collect([STUDIO_STREAM])) turn = applyEvent(turn, e)
    expect(turn).toMatchObject({ answer: 'Hello', status: 'done', memory: 'likes tennis', tokens: 42, latency: 1.25,
      taskId: 't1' })
    expect(turn.sources?.[0].document_name).toBe('a.md')
  })

  it('lists agent steps (tool calls and their results)', () => {
    let turn: Turn = { key: 'k', query: 'q', answer: '', status: 'streaming' }
    turn = applyEvent(turn, { event: 'agent_thought', data: { id: 'a', thought: 'calling calculator', tool: 'calculator' } })
    turn = applyEvent(turn, { event: 'agent_action', data: { id: 'b', tool: 'calculator', observation: '42' } })
    expect(turn.steps?.map((s) => [s.event, s.tool])).toEqual([['agent_thought', 'calculator'], ['agent_action', 'calculator']])
    expect(turn.steps?.[1].observation).toBe('42')
  })

  it('marks a stopped or failed turn', () => {
    const base: Turn = { key: 'k', query: 'q', answer: 'par', status: 'streaming' }
    expect(applyEvent(base, { event: 'stop', data: { latency: 0.5, total_token_count: 3 } }).status).toBe('stopped')
    const failed = applyEvent(base, { event: 'error', data: { observation: 'upstream timed out' } })
    expect(failed).toMatchObject({ status: 'error', error: 'upstream timed out' })
  })
})
