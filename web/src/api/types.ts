/** Hand-written shapes of the studio API (docs/api.md A; README "Using a front end written for
 * the course API"). Times are Unix seconds; money in credits (1 credit = 1e-6 USD) unless named
 * *_usd. To be replaced by types generated from /openapi.json once the contract lands. */

export interface Account {
  id: string
  name: string
  email: string
  avatar?: string
  is_admin?: boolean
  balance?: number
  used?: number
}

export interface LoginResult {
  access_token: string
  refresh_token?: string
  expire_at?: number
}

export interface AppItem {
  id: string
  name: string
  icon: string
  description: string
  preset_prompt?: string
  model_config?: { provider: string; model: string }
  status: 'draft' | 'published'
  updated_at: number
  created_at: number
}

export interface ModelConfig {
  provider: string
  model: string
  parameters: Record<string, number>
}

export interface RetrievalConfig {
  retrieval_strategy: 'semantic' | 'full_text' | 'hybrid'
  k: number
  score: number
}

export interface DraftConfig {
  id: string
  model_config: ModelConfig
  dialog_round: number
  preset_prompt: string
  tools: DraftTool[]
  workflows: unknown[]
  datasets: { id: string; name: string; icon: string; description: string }[]
  retrieval_config: RetrievalConfig
  long_term_memory: { enable: boolean }
  opening_statement: string
  opening_questions: string[]
  updated_at: number
}

export interface PublishHistory {
  id: string
  version: number
  created_at: number
  preset_prompt?: string
  model_config?: ModelConfig
}

export interface ParameterSchema {
  name: string
  label?: string
  type: string
  default?: number
  min?: number
  max?: number
  precision?: number
}

export interface LanguageModel {
  name: string
  model?: string
  kind?: string
  label?: string
  max_output?: number
  price?: { input: number; output: number } | Record<string, number>
  parameters?: ParameterSchema[]
}

export interface Provider {
  provider: string
  name: string
  label: string
  icon: string
  base_url: string
  configured: boolean
  models: LanguageModel[]
}

export interface RetrievalRecord {
  segment_id: string
  document_id: string
  document_name: string
  dataset_id: string
  score: number
  content: string
}

export interface ChatMessage {
  id: string
  conversation_id: string
  query: string
  answer: string
  total_token_count: number
  latency: number
  status?: string
  agent_thoughts: { id: string; event: string; observation: string; thought: string }[]
  created_at: number
}

export interface Dataset {
  id: string
  name: string
  icon: string
  description: string
  document_count: number
  character_count: number
  related_app_count: number
  hit_count?: number
  updated_at: number
  created_at: number
}

export type DocumentStatus = 'waiting' | 'parsing' | 'splitting' | 'indexing' | 'completed' | 'error' | 'paused' | string

export interface DocumentItem {
  id: string
  name: string
  character_count: number
  hit_count: number
  position: number
  enabled: boolean
  status: DocumentStatus
  error: string
  segment_count?: number
  updated_at: number
  created_at: number
}

export interface BatchProgress {
  id: string
  name: string
  size: number
  extension: string
  position: number
  segment_count: number
  completed_segment_count: number
  error: string
  status: DocumentStatus
  completed_at: number
}

export interface Segment {
  id: string
  document_id: string
  position: number
  content: string
  keywords: string[]
  character_count: number
  token_count: number
  hit_count: number
  enabled: boolean
  status: string
  error: string
  updated_at: number
}

export interface Hit extends Omit<Segment, 'document_id'> {
  score: number
  document: { id: string; name: string; extension: string }
}

export interface ApiKey {
  id: string
  remark: string
  api_key?: string
  key?: string
  key_hint?: string
  is_active: boolean
  quota: number | null
  used_quota?: number
  rpm: number | null
  tpm: number | null
  max_streams: number | null
  expires_at: number | null
  models: string[]
  last_used_at?: number | null
  created_at: number
}

export interface UsageDay {
  day: string
  api_key_id: string
  requests: number
  errors: number
  prompt_tokens: number
  completion_tokens: number
  total_tokens: number
  cost_usd: number
  latency_p50_ms: number
}

export interface UsageLog {
  id: string
  endpoint: string
  model: string
  surface: string
  is_stream: boolean
  prompt_tokens: number
  completion_tokens: number
  total_tokens: number
  cost_usd: number
  latency_ms: number
  status: string
  status_code: number
  api_key_id?: string | null
  created_at: number
}

export interface AdminAccount {
  id: string
  name: string
  email: string
  is_admin: boolean
  status: 'active' | 'disabled'
  balance: number
  used: number
  created_at: number
}

export interface RedeemCodeItem {
  id: string
  quota: number
  status: 'unused' | 'redeemed' | 'expired'
  created_at: number
  expires_at: number | null
  redeemed_at: number | null
}

export interface ActiveModel {
  kind: string
  provider: string
  model: string
  updated_at: number
}

export interface PriceItem {
  model: string
  provider: string
  kind: string
  input_price: number
  output_price: number
}

/** A builtin tool's param the app author sets (`GET /builtin-tools`). */
export interface ToolParamSpec {
  name: string
  label: string
  type: 'string' | 'number' | 'boolean' | 'select'
  required: boolean
  default: unknown
  min: number | null
  max: number | null
  help: string
  options: { value: string; label: string }[]
}

export interface BuiltinTool {
  name: string
  label: string
  description: string
  inputs: { name: string; description: string; required: boolean; type: string }[]
  params: ToolParamSpec[]
}

/** `GET /builtin-tools` item. */
export interface BuiltinProvider {
  name: string
  label: string
  description: string
  category: string
  background: string
  tools: BuiltinTool[]
  created_at: number
}

/** `GET /builtin-tools/categories` item (`icon`: SVG source). */
export interface ToolCategory {
  category: string
  name: string
  icon: string
}

/** `GET /api-tools` item (header values masked). */
export interface ApiToolProvider {
  id: string
  name: string
  icon: string
  description: string
  openapi_schema: string
  headers: { key: string; value: string }[]
  tools: { id: string; name: string; description: string }[]
  created_at: number
}

/** A tool bound to the draft as `GET /apps/:id/draft-app-config` answers it. */
export interface DraftTool {
  type: 'builtin_tool' | 'api_tool'
  provider: { id: string; name: string; label: string; icon: string; description: string }
  tool: { id: string; name: string; label: string; description: string; params: Record<string, unknown> }
}

/** A tool reference as the draft is saved: `{type, provider_id, tool_id, params}`. */
export interface ToolRef {
  type: 'builtin_tool' | 'api_tool'
  provider_id: string
  tool_id: string
  params: Record<string, unknown>
}
