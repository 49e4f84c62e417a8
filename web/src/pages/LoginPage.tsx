import { Alert, App, Button, Card, Form, Input, Tabs, Typography } from 'antd'
import { useEffect, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { Link, useNavigate, useSearchParams } from 'react-router-dom'
import { api, ApiError, setSession } from '../api/client'
import type { LoginResult } from '../api/types'
import LanguageSwitch from '../components/LanguageSwitch'

type Mode = 'open' | 'invite' | 'closed'

export default function LoginPage() {
  const { t } = useTranslation()
  const { message } = App.useApp()
  const navigate = useNavigate()
  const [params] = useSearchParams()
  const [tab, setTab] = useState('login')
  const [mode, setMode] = useState<Mode>('open')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const next = params.get('next')?.startsWith('/console') ? params.get('next')! : '/console/apps'

  useEffect(() => {
    api<{ mode: Mode }>('/auth/registration-policy', { auth: false }).then((r) => setMode(r.mode)).catch(() => undefined)
  }, [])

  const done = (result: LoginResult) => {
    setSession(result)
    message.success(t('Welcome'))
    navigate(next, { replace: true })
  }

  const submit = async (path: string, values: Record<string, string>) => {
    setBusy(true)
    setError(null)
    try {
      done(await api<LoginResult>(path, { method: 'POST', body: values, auth: false }))
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e))
    } finally {
      setBusy(false)
    }
  }

  const login = (
    <Form name="login" layout="vertical" onFinish={(v) => submit("/auth/password-login", v)} data-testid="login-form">
      <Form.Item name="email" label={t('E-mail')} rules={[{ required: true, type: 'email' }]}>
        <Input autoComplete="username" />
      </Form.Item>
      <Form.Item name="password" label={t('Password')} rules={[{ required: true }]}>
        <Input.Password autoComplete="current-password" />
      </Form.Item>
      <Button type="primary" htmlType="submit" block loading={busy}>{t('Sign in')}</Button>
    </Form>
  )
  const register = mode === 'closed' ? (
    <Alert type="info" showIcon title={t('Registration is closed: ask an administrator for an account.')} />
  ) : (
    <Form name="register" layout="vertical" onFinish={(v) => submit("/auth/register", v)} data-testid="register-form">
      <Form.Item name="name" label={t('Name')} rules={[{ required: true }]}><Input /></Form.Item>
      <Form.Item name="email" label={t('E-mail')} rules={[{ required: true, type: 'email' }]}>
        <Input autoComplete="username" />
      </Form.Item>
      <Form.Item name="password" label={t('Password')} rules={[{ required: true, min: 6 }]}>
        <Input.Password autoComplete="new-password" />
      </Form.Item>
      {mode === 'invite' && (
        <Form.Item name="invite_code" label={t('Invite code')} rules={[{ required: true }]}
          extra={t('Registration needs an invite code from an administrator.')}>
          <Input />
        </Form.Item>
      )}
      <Button type="primary" htmlType="submit" block loading={busy}>{t('Create account')}</Button>
    </Form>
  )

  return (
    <div className="login-wrap">
      <Card className="login-card" title={<span>LLMOps {t('console')}</span>} extra={<LanguageSwitch />}>
        {params.get('expired') && (
          <Alert type="warning" showIcon style={{ marginBottom: 12 }} data-testid="expired"
            title={t('Your session has ended: sign in again.')} />
        )}
        {error && <Alert type="error" showIcon style={{ marginBottom: 12 }} title={error} data-testid="login-error" />}
        <Tabs activeKey={tab} onChange={(k) => { setTab(k); setError(null) }} items={[
          { key: 'login', label: t('Sign in'), children: login },
          { key: 'register', label: t('Register'), children: register },
        ]} />
        <Typography.Paragraph type="secondary" style={{ marginTop: 16, marginBottom: 0 }}>
          {t('Have only an API key?')} <Link to="/console/self-service">{t('Key self-service')}</Link>
        </Typography.Paragraph>
      </Card>
    </div>
  )
}
