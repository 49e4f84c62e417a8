import { useCallback, useEffect, useRef, useState } from 'react'

/** Runs `load` now and whenever `deps` change → {data, loading, error, reload}. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [data, setData] = useState<T | undefined>(undefined)
  const [loading, setLoading] = useState(true)
  const [error, setError] = useState<Error | null>(null)
  const latest = useRef(0)
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const run = useCallback(load, deps)
  const reload = useCallback(() => {
    const ticket = ++latest.current
    setLoading(true)
    run().then((d) => {
      if (ticket === latest.current) { setData(d); setError(null) }
    }).catch((e: Error) => {
      if (ticket === latest.current) setError(e)
    }).finally(() => {
      if (ticket === latest.current) setLoading(false)
    })
  }, [run])
  useEffect(reload, [reload])
  return { data, loading, error, reload, setData }
}
