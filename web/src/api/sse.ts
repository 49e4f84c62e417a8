/** Server-sent events read from a fetch() body, so POST requests can stream (EventSource is
 * GET-only). Frames are `event: <name>` / `data: <json>` lines ended by a blank line (the
 * studio's debug chat); `data: [DONE]` frames (OpenAI) are reported as the event `done`. */

export interface SseEvent {
  event: string
  data: any
}

/** Splits a byte stream into SSE frames; feed() it chunks as they arrive (a frame, a line or a
 * multi-byte character may be split across chunks), then end() for a last frame without its
 * blank line. */
export class SseParser {
  private buffer = ''
  private decoder = new TextDecoder()
  private eventName = ''
  private dataLines: string[] = []

  constructor(private readonly onEvent: (event: SseEvent) => void) {}

  feed(chunk: Uint8Array | string): void {
    this.buffer += typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true })
    let newline: number
    while ((newline = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buffer.slice(0, newline)
      const width = this.buffer.startsWith('\r\n', newline) ? 2 : 1
      if (this.buffer[newline] === '\r' && newline + 1 === this.buffer.length) break // wait: \r\n may be split
      this.buffer = this.buffer.slice(newline + width)
      this.line(line)
    }
  }

  end(): void {
    this.buffer += this.decoder.decode()
    if (this.buffer) this.line(this.buffer.replace(/\r$/, ''))
    this.buffer = ''
    this.dispatch()
  }

  private line(line: string): void {
    if (line === '') return this.dispatch()
    if (line.startsWith(':')) return // comment / keep-alive
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    let value = colon < 0 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'event') this.eventName = value
    else if (field === 'data') this.dataLines.push(value)
  }

  private dispatch(): void {
    if (!this.dataLines.length && !this.eventName) return
    const raw = this.dataLines.join('\n')
    const name = this.eventName || 'message'
    this.eventName = ''
    this.dataLines = []
    if (raw === '[DONE]') return this.onEvent({ event: 'done', data: null })
    let data: any = raw
    try {
      data = raw ? JSON.parse(raw) : null
    } catch {
      /* not JSON: handed over as text */
    }
    this.onEvent({ event: name, data })
  }
}

/** Reads `response.body` to its end, calling `onEvent` per frame; resolves when the stream ends
 * (or rejects with the abort error when `signal` aborts). */
export async function readSse(response: Response, onEvent: (event: SseEvent) => void,
  signal?: AbortSignal): Promise<void> {
  if (!response.body) throw new Error('the response has no body')
  const reader = response.body.getReader()
  const parser = new SseParser(onEvent)
  const abort = () => reader.cancel().catch(() => undefined)
  signal?.addEventListener('abort', abort)
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      parser.feed(value)
    }
    parser.end()
  } finally {
    signal?.removeEventListener('abort', abort)
  }
}
