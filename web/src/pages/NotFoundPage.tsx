import { Button, Result } from 'antd'
import { useTranslation } from 'react-i18next'
import { Link } from 'react-router-dom'

export default function NotFoundPage() {
  const { t } = useTranslation()
  return <Result status="404" title="404" subTitle={t('This page does not exist.')}
    extra={<Link to="/console/apps"><Button type="primary">{t('Back to apps')}</Button></Link>} />
}
