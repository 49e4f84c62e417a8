import { Segmented } from 'antd'
import { useTranslation } from 'react-i18next'
import { setLanguage } from '../i18n'

export default function LanguageSwitch() {
  const { i18n } = useTranslation()
  return (
    <Segmented size="small" value={i18n.language === 'zh' ? 'zh' : 'en'} data-testid="language"
      options={[{ label: 'EN', value: 'en' }, { label: '中文', value: 'zh' }]}
      onChange={(v) => setLanguage(v as 'en' | 'zh')} />
  )
}
