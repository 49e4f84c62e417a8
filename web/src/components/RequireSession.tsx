import type { ReactNode } from 'react'
import { Navigate, useLocation } from 'react-router-dom'
import { getSession, loginPath } from '../api/client'

export default function RequireSession({ children }: { children: ReactNode }) {
  const location = useLocation()
  if (!getSession()) {
    return <Navigate to={`${loginPath}?next=${encodeURIComponent(location.pathname + location.search)}`} replace />
  }
  return <>{children}</>
}
