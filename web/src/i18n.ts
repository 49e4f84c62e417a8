/** English and Chinese. Keys are the English text (missing translations show English). */
import i18n from 'i18next'
import { initReactI18next } from 'react-i18next'
import zh from './locales/zh'

const saved = localStorage.getItem('llmops.lang')
const lang = saved ?? (navigator.language?.toLowerCase().startsWith('zh') ? 'zh' : 'en')

i18n.use(initReactI18next).init({
  resources: { en: { translation: {} }, zh: { translation: zh } },
  lng: lang,
  fallbackLng: 'en',
  keySeparator: false,
  nsSeparator: false,
  interpolation: { escapeValue: false },
})

export function setLanguage(lng: 'en' | 'zh'): void {
  localStorage.setItem('llmops.lang', lng)
  void i18n.changeLanguage(lng)
  document.documentElement.lang = lng === 'zh' ? 'zh-CN' : 'en'
}

document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en'
export default i18n
