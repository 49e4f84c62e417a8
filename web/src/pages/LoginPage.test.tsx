import { act, cleanup, fireEvent, render, screen } from '@testing-library/react'
import { App } from 'antd'
import { MemoryRouter } from 'react-router-dom'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import '../i18n'
import LoginPage from './LoginPage'

beforeAll(() => {
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
afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

async function showRegister(mode: string, search = '') {
  const fetchMock = vi.fn(async () => new Response(JSON.stringify({ code: 'success', data: { mode }, message: '' }),
    { headers: { 'Content-Type': 'application/json' } }))
  vi.stubGlobal('fetch', fetchMock)
  render(<MemoryRouter initialEntries={[`/console/login${search}`]}><App><LoginPage /></App></MemoryRouter>)
  await act(async () => { await Promise.resolve() })
  fireEvent.click(screen.getByRole('tab', { name: 'Register' }))
  expect(fetchMock).toHaveBeenCalledWith('/auth/registration-policy', expect.anything())
}

describe('LoginPage and the registration policy', () => {
  it('asks for no invite code when registration is open', async () => {
    await showRegister('open')
    expect(screen.getAllByLabelText('E-mail').length).toBeGreaterThan(0)
    expect(screen.queryByLabelText('Invite code')).toBeNull()
  })

  it('asks for an invite code under invite', async () => {
    await showRegister('invite')
    expect(screen.getByLabelText('Invite code')).toBeTruthy()
  })

  it('says registration is closed and shows no form', async () => {
    await showRegister('closed')
    expect(screen.getByText('Registration is closed: ask an administrator for an account.')).toBeTruthy()
    expect(screen.queryByTestId('register-form')).toBeNull()
  })

  it('tells a user whose session expired to sign in again', async () => {
    await showRegister('open', '?expired=1&next=%2Fconsole%2Fkeys')
    expect(screen.getByTestId('expired')).toBeTruthy()
  })
})
