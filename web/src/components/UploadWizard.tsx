import { InboxOutlined } from '@ant-design/icons'
import { App, Button, Checkbox, Form, InputNumber, Radio, Select, Space, Steps, Upload } from 'antd'
import type { UploadFile } from 'antd'
import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { api } from '../api/client'
import ProgressView from './ProgressView'

const ACCEPT = '.txt,.md,.markdown,.pdf,.docx,.html,.htm,.csv,.xlsx,.pptx,.json,.xml'

/** Upload wizard: files (drag and drop, many) → rules (automatic or custom) → live progress. */
export default function UploadWizard({ datasetId, onFinished }: { datasetId: string; onFinished?: () => void }) {
  const { t } = useTranslation()
  const { message } = App.useApp()
  const [step, setStep] = useState(0)
  const [files, setFiles] = useState<UploadFile[]>([])
  const [processType, setProcessType] = useState<'automatic' | 'custom'>('automatic')
  const [batch, setBatch] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const [form] = Form.useForm()
  const uploaded = files.filter((f) => f.status === 'done' && f.response?.id)

  const start = async () => {
    setBusy(true)
    try {
      let rule
      if (processType === 'custom') {
        const v = await form.validateFields()
        rule = {
          pre_process_rules: [
            { id: 'remove_extra_space', enabled: v.pre.includes('remove_extra_space') },
            { id: 'remove_url_and_email', enabled: v.pre.includes('remove_url_and_email') },
          ],
          segment: { separators: v.separators, chunk_size: v.chunk_size, chunk_overlap: v.chunk_overlap },
        }
      }
      const created = await api<{ batch: string }>(`/datasets/${datasetId}/documents`, {
        method: 'POST', body: { upload_file_ids: uploaded.map((f) => f.response.id), process_type: processType, rule },
      })
      setBatch(created.batch)
      setStep(2)
    } catch (e) {
      message.error(String((e as Error).message ?? e))
    } finally {
      setBusy(false)
    }
  }

  const reset = () => {
    setFiles([])
    setBatch(null)
    setStep(0)
  }

  return (
    <div data-testid="upload-wizard">
      <Steps current={step} size="small" style={{ marginBottom: 16 }}
        items={[{ title: t('Choose files') }, { title: t('Rules') }, { title: t('Processing') }]} />
      {step === 0 && <>
        <Upload.Dragger multiple accept={ACCEPT} fileList={files} maxCount={10} data-testid="upload-dragger"
          onChange={({ fileList }) => setFiles(fileList)}
          customRequest={async ({ file, onSuccess, onError }) => {
            const body = new FormData()
            body.append('file', file as Blob)
            try {
              onSuccess?.(await api('/upload-files/file', { method: 'POST', body }))
            } catch (e) {
              onError?.(e as Error)
              message.error(`${(file as File).name}: ${(e as Error).message}`)
            }
          }}>
          <p className="ant-upload-drag-icon"><InboxOutlined /></p>
          <p className="ant-upload-text">{t('Drop files here or click to choose (up to 10, 15 MB each)')}</p>
          <p className="ant-upload-hint">txt, md, pdf, docx, html, csv, xlsx, pptx…</p>
        </Upload.Dragger>
        <Button type="primary" style={{ marginTop: 16 }} disabled={!uploaded.length || uploaded.length !== files.length}
          onClick={() => setStep(1)} data-testid="upload-next">{t('Next')}</Button>
      </>}
      {step === 1 && <>
        <Radio.Group value={processType} onChange={(e) => setProcessType(e.target.value)} style={{ marginBottom: 16 }}
          options={[{ label: t('Automatic'), value: 'automatic' }, { label: t('Custom'), value: 'custom' }]} />
        {processType === 'custom' && (
          <Form name="rules" form={form} layout="vertical" initialValues={{
            separators: ['\n\n', '\n', '。', '.'], chunk_size: 500, chunk_overlap: 50, pre: ['remove_extra_space'],
          }}>
            <Form.Item name="separators" label={t('Separators')} rules={[{ required: true }]}>
              <Select mode="tags" tokenSeparators={[',']} />
            </Form.Item>
            <Space wrap>
              <Form.Item name="chunk_size" label={t('Chunk size (tokens)')}><InputNumber min={100} max={1000} /></Form.Item>
              <Form.Item name="chunk_overlap" label={t('Overlap')}><InputNumber min={0} max={500} /></Form.Item>
            </Space>
            <Form.Item name="pre" label={t('Cleaning')}>
              <Checkbox.Group options={[{ label: t('Collapse extra spaces'), value: 'remove_extra_space' },
                { label: t('Remove URLs and e-mails'), value: 'remove_url_and_email' }]} />
            </Form.Item>
          </Form>
        )}
        <Space>
          <Button onClick={() => setStep(0)}>{t('Back')}</Button>
          <Button type="primary" loading={busy} onClick={start} data-testid="upload-start">{t('Start processing')}</Button>
        </Space>
      </>}
      {step === 2 && batch && <>
        <ProgressView datasetId={datasetId} batch={batch} onDone={() => onFinished?.()} />
        <Button style={{ marginTop: 16 }} onClick={reset}>{t('Upload more')}</Button>
      </>}
    </div>
  )
}
