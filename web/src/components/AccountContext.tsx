import { createContext, useContext } from 'react'
import type { Account } from '../api/types'

export const AccountContext = createContext<{ account: Account | null; reload: () => void }>({
  account: null, reload: () => undefined,
})

export const useAccount = () => useContext(AccountContext)
