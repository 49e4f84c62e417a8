import { act, cleanup, render, screen } from '@testing-library/react'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import type { BatchProgress } from '../api/types'
import '../i18n'
import ProgressView, { batchDone, percentOf } from './ProgressView'

beforeAll(() => {
  // antd reads these in jsdom
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

const doc = (over: Partial<BatchProgress>): BatchProgress => ({
  id: 'd1', name: 'a.md', size: 10, extension: 'md', position: 1, segment_count: 0, completed_segment_count: 0,
  error: '', status: 'waiting', completed_at: 0, ...over,
})

describe('percentOf / batchDone', () => {
  it('follows the segments and ends at 100 only when completed', () => {
    expect(percentOf(doc({ status: 'waiting' }))).toBe(0)
    expect(percentOf(doc({ status: 'indexing', segment_count: 8, completed_segment_count: 2 }))).toBe(25)
    expect(percentOf(doc({ status: 'indexing', segment_count: 8, completed_segment_count: 8 }))).toBe(99)
    expect(percentOf(doc({ status: 'completed', segment_count: 8, completed_segment_count: 8 }))).toBe(100)
    expect(batchDone([])).toBe(false)
    expect(batchDone([doc({ status: 'completed' }), doc({ status: 'indexing' })])).toBe(false)
    expect(batchDone([doc({ status: 'completed' }), doc({ status: 'error' })])).toBe(true)
  })
})

describe('ProgressView', () => {
  it('polls the batch until every document is final, then calls onDone once', async () => {
    vi.useFakeTimers()
    const states: BatchProgress[][] = [
      [doc({ name: 'a.md', status: 'parsing' }), doc({ id: 'd2', name: 'b.pdf', status: 'waiting' })],
      [doc({ name: 'a.md', status: 'indexing', segment_count: 4, completed_segment_count: 1 }),
        doc({ id: 'd2', name: 'b.pdf', status: 'splitting' })],
      [doc({ name: 'a.md', status: 'completed', segment_count: 4, completed_segment_count: 4 }),
        doc({ id: 'd2', name: 'b.pdf', status: 'error', error: 'encrypted PDF' })],
    ]
    const fetchBatch = vi.fn(async (_d: string, _b: string) => states[Math.min(fetchBatch.mock.calls.length - 1, 2)])
    const onDone = vi.fn()
    render(<ProgressView datasetId="ds" batch="b1" intervalMs={1000} fetchBatch={fetchBatch} onDone={onDone} />)
    await act(async () => { await vi.advanceTimersByTimeAsync(0) })
    expect(screen.getByText('a.md')).toBeTruthy()
    expect(screen.getAllByTestId('progress-item').map((e) => e.dataset.status)).toEqual(['parsing', 'waiting'])
    await act(async () => { await vi.advanceTimersByTimeAsync(1000) })
    expect(screen.getByText('1 of 4 segments')).toBeTruthy()
    expect(screen.getByTestId('progress-view').dataset.done).toBe('false')
    await act(async () => { await vi.advanceTimersByTimeAsync(1000) })
    expect(screen.getAllByTestId('progress-item').map((e) => e.dataset.status)).toEqual(['completed', 'error'])
    expect(screen.getByText('encrypted PDF')).toBeTruthy()
    expect(screen.getByTestId('progress-view').dataset.done).toBe('true')
    expect(onDone).toHaveBeenCalledTimes(1)
    await act(async () => { await vi.advanceTimersByTimeAsync(5000) })
    expect(fetchBatch).toHaveBeenCalledTimes(3) // no polling after the end
    expect(fetchBatch).toHaveBeenCalledWith('ds', 'b1')
    vi.useRealTimers()
  })

  it('shows a fetch error and keeps polling', async () => {
    vi.useFakeTimers()
    let calls = 0
    const fetchBatch = vi.fn(async () => {
      calls += 1
      if (calls === 1) throw new Error('HTTP 502')
      return [doc({ status: 'completed', segment_count: 1, completed_segment_count: 1 })]
    })
    render(<ProgressView datasetId="ds" batch="b1" intervalMs={500} fetchBatch={fetchBatch} />)
    await act(async () => { await vi.advanceTimersByTimeAsync(0) })
    expect(screen.getByText('HTTP 502')).toBeTruthy()
    await act(async () => { await vi.advanceTimersByTimeAsync(500) })
    expect(screen.queryByText('HTTP 502')).toBeNull()
    expect(screen.getByTestId('progress-view').dataset.done).toBe('true')
    vi.useRealTimers()
  })
})
