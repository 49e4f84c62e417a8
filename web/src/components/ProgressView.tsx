import { Alert, List, Progress, Tag, Typography } from 'antd'
import { useEffect, useRef, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { api } from '../api/client'
import type { BatchProgress } from '../api/types'

const FINAL = new Set(['completed', 'error'])

export const batchDone = (docs: BatchProgress[]): boolean => docs.length > 0 && docs.every((d) => FINAL.has(d.status))

export function percentOf(doc: BatchProgress): number {
  if (doc.status === 'completed') return 100
  if (!doc.segment_count) return doc.status === 'waiting' ? 0 : 5
  return Math.min(99, Math.floor((doc.completed_segment_count / doc.segment_count) * 100))
}

const STATUS_COLOR: Record<string, string> = {
  completed: 'success', error: 'error', waiting: 'default', parsing: 'processing', splitting: 'processing',
  indexing: 'processing', paused: 'warning',
}

/** Live progress of one upload batch (`GET /datasets/:id/documents/batch/:batch`), polled every
 * `intervalMs` until every document is completed or failed; then `onDone(docs)` once. */
export default function ProgressView({ datasetId, batch, intervalMs = 1000, onDone, fetchBatch }: {
  datasetId: string
  batch: string
  intervalMs?: number
  onDone?: (docs: BatchProgress[]) => void
  fetchBatch?: (datasetId: string, batch: string) => Promise<BatchProgress[]>
}) {
  const { t } = useTranslation()
  const [docs, setDocs] = useState<BatchProgress[]>([])
  const [error, setError] = useState<string | null>(null)
  const doneRef = useRef(onDone)
  doneRef.current = onDone

  useEffect(() => {
    let stopped = false
    let timer: ReturnType<typeof setTimeout> | undefined
    const load = fetchBatch ?? ((d: string, b: string) => api<BatchProgress[]>(`/datasets/${d}/documents/batch/${b}`))
    const tick = async () => {
      try {
        const next = await load(datasetId, batch)
        if (stopped) return
        setDocs(next)
        setError(null)
        if (batchDone(next)) {
          doneRef.current?.(next)
          return
        }
      } catch (e) {
        if (stopped) return
        setError(String((e as Error).message ?? e))
      }
      timer = setTimeout(tick, intervalMs)
    }
    void tick()
    return () => {
      stopped = true
      if (timer) clearTimeout(timer)
    }
  }, [datasetId, batch, intervalMs, fetchBatch])

  return (
    <div data-testid="progress-view" data-done={batchDone(docs) ? 'true' : 'false'}>
      {error && <Alert type="warning" showIcon title={error} style={{ marginBottom: 8 }} />}
      <List dataSource={docs} loading={!docs.length && !error} renderItem={(doc) => (
        <List.Item data-testid="progress-item" data-status={doc.status}>
          <div style={{ width: '100%' }}>
            <div style={{ display: 'flex', justifyContent: 'space-between', gap: 8, flexWrap: 'wrap' }}>
              <Typography.Text strong ellipsis style={{ maxWidth: '70%' }}>{doc.name}</Typography.Text>
              <Tag color={STATUS_COLOR[doc.status] ?? 'default'} data-testid="progress-status">{t(doc.status)}</Tag>
            </div>
            <Progress percent={percentOf(doc)} status={doc.status === 'error' ? 'exception' : doc.status === 'completed' ? 'success' : 'active'} />
            <Typography.Text type="secondary" style={{ fontSize: 12 }}>
              {t('{{done}} of {{total}} segments', { done: doc.completed_segment_count, total: doc.segment_count })}
            </Typography.Text>
            {doc.error && <Alert type="error" title={doc.error} style={{ marginTop: 4 }} />}
          </div>
        </List.Item>
      )} />
    </div>
  )
}
