/** The studio API's envelope `{code, data, message}` over fetch, with the session's JWT.
 * A 401 first tries the refresh token once; when that fails too the session is over and the
 * browser goes to the sign-in page (which returns to where the user was). */
import { readSse, type SseEvent } from './sse'

const SESSION_KEY = 'llmops.session'

export interface Session {
  access_token: string
  refresh_token?: string
  expire_at?: number
}

export class ApiError extends Error {
  constructor(message: string, readonly status: number, readonly code: string, readonly data: any = {}) {
    super(message)
  }
}

export function getSession(): Session | null {
  try {
    return JSON.parse(localStorage.getItem(SESSION_KEY) ?? 'null')
  } catch {
    return null
  }
}

export function setSession(session: Session | null): void {
  if (session) localStorage.setItem(SESSION_KEY, JSON.stringify(session))
  else localStorage.removeItem(SESSION_KEY)
}

export const loginPath = '/console/login'

function signedOut(): never {
  setSession(null)
  const here = window.location.pathname + window.location.search
  if (!window.location.pathname.startsWith(loginPath)) {
    window.location.assign(`${loginPath}?expired=1&next=${encodeURIComponent(here)}`)
  }
  throw new ApiError('your session has ended: sign in again', 401, 'unauthorized')
}

let refreshing: Promise<boolean> | null = null

async function refresh(): Promise<boolean> {
  const session = getSession()
  if (!session?.refresh_token) return false
  refreshing ??= (async () => {
    try {
      const r = await fetch('/auth/refresh', {
        method: 'POST', headers: { Authorization: `Bearer ${session.refresh_token}` },
      })
      if (!r.ok) return false
      const body = await r.json()
      setSession({ ...session, ...body.data })
      return true
    } catch {
      return false
    } finally {
      setTimeout(() => { refreshing = null }, 0)
    }
  })()
  return refreshing
}

export interface RequestOptions {
  method?: string
  body?: unknown
  query?: Record<string, string | number | boolean | undefined | null>
  auth?: boolean | string // false: no token; a string: that bearer (an API key)
  signal?: AbortSignal
  raw?: boolean // answer the Response itself (streams)
}

function url(path: string, query?: RequestOptions['query']): string {
  if (!query) return path
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, String(v))
  const qs = params.toString()
  return qs ? `${path}?${qs}` : path
}

async function send(path: string, opts: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = {}
  const token = typeof opts.auth === 'string' ? opts.auth : opts.auth === false ? null : getSession()?.access_token
  if (token) headers.Authorization = `Bearer ${token}`
  let body: BodyInit | undefined
  if (opts.body instanceof FormData) body = opts.body
  else if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(opts.body)
  }
  return fetch(url(path, opts.query), { method: opts.method ?? (body ? 'POST' : 'GET'), headers, body, signal: opts.signal })
}

async function errorOf(response: Response): Promise<ApiError> {
  let body: any = null
  try {
    body = await response.json()
  } catch {
    /* not JSON */
  }
  const message = body?.message ?? body?.error?.message ?? body?.detail ?? `HTTP ${response.status}`
  return new ApiError(message, response.status, body?.code ?? body?.error?.code ?? 'fail', body?.data ?? {})
}

/** One API call → the envelope's `data` (bare JSON for non-envelope routes); ApiError otherwise. */
export async function api<T = any>(path: string, opts: RequestOptions = {}): Promise<T> {
  const usesSession = opts.auth === undefined || opts.auth === true
  let response = await send(path, opts)
  if (response.status === 401 && usesSession && getSession()) {
    if (await refresh()) response = await send(path, opts)
    if (response.status === 401) signedOut()
  }
  if (opts.raw) {
    if (!response.ok) throw await errorOf(response)
    return response as unknown as T
  }
  if (!response.ok) throw await errorOf(response)
  const body = await response.json()
  if (body && typeof body === 'object' && 'code' in body && 'data' in body) {
    if (body.code !== 'success') throw new ApiError(body.message, response.status, body.code, body.data)
    return body.data as T
  }
  return body as T
}

/** POST a streaming route and hand each SSE frame to `onEvent` until the stream ends. */
export async function stream(path: string, body: unknown, onEvent: (e: SseEvent) => void,
  signal?: AbortSignal): Promise<void> {
  const response = await api<Response>(path, { method: 'POST', body, raw: true, signal })
  await readSse(response, onEvent, signal)
}

export interface Page<T> {
  list: T[]
  paginator: { current_page: number; page_size: number; total_page: number; total_record: number }
}
