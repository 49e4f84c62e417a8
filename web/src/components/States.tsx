import { Alert, Button, Empty, Spin } from 'antd'
import type { ReactNode } from 'react'
import { useTranslation } from 'react-i18next'

/** Loading, error (with retry) and empty states around a page's content. */
export function Loadable({ loading, error, empty, onRetry, children, emptyText }: {
  loading: boolean
  error?: Error | null
  empty?: boolean
  onRetry?: () => void
  children: ReactNode
  emptyText?: ReactNode
}) {
  const { t } = useTranslation()
  if (error) {
    return (
      <Alert type="error" showIcon title={t('Could not load')} description={error.message}
        action={onRetry && <Button size="small" onClick={onRetry}>{t('Retry')}</Button>} />
    )
  }
  if (loading && empty) return <div style={{ textAlign: 'center', padding: 48 }}><Spin /></div>
  if (empty) return <Empty description={emptyText ?? t('Nothing here yet')} />
  return <>{children}</>
}
