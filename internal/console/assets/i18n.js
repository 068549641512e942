// The console's words in English and Chinese. The browser's language picks
// one (zh* is Chinese) until the operator switches; the choice is kept.

const en = {
  title: 'Ferry console', switchTo: '中文', logout: 'Log out',
  loginHelp: 'Enter an admin or viewer key (admin.token, admin_key, or a managed key with the admin or viewer role). It stays in this tab only. Without admin.token and admin_key (loopback only), log in with the field empty.',
  key: 'Key', login: 'Log in', loginBad: 'That key was refused: ',
  overview: 'Overview', upstreams: 'Upstreams', usage: 'Usage and cost', keys: 'Keys', shadow: 'Shadow', config: 'Config',
  errShort: 'Error rate', rps: 'Requests/s (last minute)', errorRate: 'Error rate (5xx, 429)', p50: 'Latency p50', p95: 'Latency p95', p99: 'Latency p99',
  ttft: 'Time to first token p50', inflight: 'Upstream calls in flight', total: 'Requests since start',
  chartRps: 'Requests per second', chartErr: 'Error rate', chartLat: 'Latency (ms)', chartTtft: 'Time to first token, streams (ms)',
  overviewHelp: 'The last two minutes, one point per second, refreshed every 2 s. Errors are 5xx answers and 429s.',
  costToday: 'Cost today', noUsage: 'No usage data: this gateway has no usage ledger (GET /admin/usage is not available).',
  noUsageRows: 'No requests recorded in this period.',
  provider: 'Provider', policy: 'Policy', node: 'Node', health: 'Health', breaker: 'Breaker', latency: 'Latency (EWMA first byte)',
  requests: 'Requests', failures: 'Failures', lastError: 'Last error', panic: 'Panic routing', panicRouted: 'Requests panic-routed',
  lastFailure: 'Last failure', retries: 'Recent retries and fallbacks', attempts: 'Attempts (provider@node:outcome)', noRetries: 'No request needed a second attempt recently.', routes: 'Routes and canary weights', route: 'Route', target: 'Target', weight: 'Weight',
  configured: 'Configured', canary: 'Canary', p95ms: 'p95 (ms)', lastEvent: 'Last change', actions: 'Actions',
  promote: 'Promote', rollback: 'Roll back', confirm: 'Click again to confirm', noRoutes: 'No weighted routes: canary needs a route with several weighted targets.',
  upstreamsHelp: 'Every provider and node: health, breaker, latency and calls in flight. Promote gives the canary all the weight; roll back gives it none.',
  groupBy: 'Group by', exportCsv: 'Export CSV', day: 'Day', team: 'Team', tag: 'Tag', model: 'Model', session: 'Session', keyCol: 'Key',
  inputTokens: 'Input tokens', outputTokens: 'Output tokens', cacheRead: 'Cache read', cost: 'Cost', budgets: 'Budgets', alerts: 'Alert history',
  noAlerts: 'No alerts sent.', usageHelp: 'Requests, tokens and cost from the usage ledger over the last 24 hours.',
  name: 'Name', role: 'Role', models: 'Models', status: 'Status', prefix: 'Prefix', created: 'Created',
  create: 'Create key', rotate: 'Rotate', revoke: 'Revoke', newKey: 'The new key, shown only this once: copy it now.',
  signing: 'Signing secret', newSigningSecret: 'Its signing secret for X-Ferry-Key-Id {id}, shown only this once; never stored.',
  copy: 'Copy', modelsHint: 'models (comma separated, empty: all)', routesHint: 'routes (comma separated, empty: all)',
  keysHelp: 'Managed keys. A new or rotated key is shown once; the gateway keeps only its hash.', noKeys: 'No managed keys yet.',
  needsAdmin: 'This page needs the admin role.',
  shadowHelp: 'Shadow traffic: each candidate vendor answered the same requests as the primary. Higher agreement and lower latency ratio favour the candidate.',
  candidate: 'Candidate', pairs: 'Pairs', agreement: 'Agreement', similarity: 'Similarity', tools: 'Tool agreement',
  latRatio: 'Latency ratio p50 / p95', ttfbRatio: 'First byte ratio p50', tokDelta: 'Tokens Δ in / out', noShadow: 'No shadow comparisons yet: configure shadow targets on a route.',
  queue: 'Queue', dropped: 'Dropped',
  configHelp: 'The running config. Every secret is shown as ***.', loadedAt: 'Loaded at', lastReload: 'Last reload',
  noReload: 'No reload since start.', reloadSource: { signal: 'SIGHUP', file: 'config file changed', admin: 'admin API' },
  reserved: 'reserved', budgetsToday: 'Spend against budgets (current period)', noBudgets: 'No budgets configured (usage.budgets).',
  error: 'Error', updated: 'Updated', never: '—',
};

const zh = {
  title: 'Ferry 控制台', switchTo: 'English', logout: '退出',
  loginHelp: '请输入管理员或只读密钥(admin.token、admin_key,或角色为 admin / viewer 的托管密钥)。密钥只保存在当前标签页。若未设置 admin.token 与 admin_key(仅限本机回环),留空直接登录。',
  key: '密钥', login: '登录', loginBad: '密钥被拒绝:',
  overview: '总览', upstreams: '上游', usage: '用量与费用', keys: '密钥', shadow: '影子流量', config: '配置',
  errShort: '错误率', rps: '每秒请求数(近一分钟)', errorRate: '错误率(5xx、429)', p50: '延迟 p50', p95: '延迟 p95', p99: '延迟 p99',
  ttft: '首字延迟 p50', inflight: '进行中的上游调用', total: '启动以来请求数',
  chartRps: '每秒请求数', chartErr: '错误率', chartLat: '延迟(毫秒)', chartTtft: '流式首字延迟(毫秒)',
  overviewHelp: '最近两分钟,每秒一个点,每 2 秒刷新。错误指 5xx 与 429 应答。',
  costToday: '今日费用', noUsage: '暂无用量数据:此网关没有用量账本(GET /admin/usage 不可用)。',
  noUsageRows: '此时段没有请求记录。',
  provider: '供应商', policy: '策略', node: '节点', health: '健康', breaker: '熔断器', latency: '延迟(首字节 EWMA)',
  requests: '请求数', failures: '失败数', lastError: '最近错误', panic: '恐慌路由', panicRouted: '恐慌路由请求数',
  lastFailure: '最近失败', retries: '最近的重试与故障转移', attempts: '尝试(供应商@节点:结果)', noRetries: '最近没有请求需要第二次尝试。', routes: '路由与灰度权重', route: '路由', target: '目标', weight: '权重',
  configured: '配置权重', canary: '灰度', p95ms: 'p95(毫秒)', lastEvent: '最近变更', actions: '操作',
  promote: '全量', rollback: '回滚', confirm: '再点一次确认', noRoutes: '没有加权路由:灰度需要一条有多个加权目标的路由。',
  upstreamsHelp: '每个供应商与节点的健康、熔断、延迟和进行中的调用。“全量”把全部权重给灰度目标,“回滚”把它的权重清零。',
  groupBy: '分组', exportCsv: '导出 CSV', day: '日期', team: '团队', tag: '标签', model: '模型', session: '会话', keyCol: '密钥',
  inputTokens: '输入 token', outputTokens: '输出 token', cacheRead: '缓存读取', cost: '费用', budgets: '预算', alerts: '告警记录',
  noAlerts: '没有发送过告警。', usageHelp: '近 24 小时用量账本中的请求、token 与费用。',
  name: '名称', role: '角色', models: '模型', status: '状态', prefix: '前缀', created: '创建时间',
  create: '创建密钥', rotate: '轮换', revoke: '吊销', newKey: '新密钥只显示这一次,请立即复制。',
  signing: '签名密钥', newSigningSecret: '用于 X-Ferry-Key-Id {id} 的签名密钥只显示这一次,不会被存储。',
  copy: '复制', modelsHint: '模型(逗号分隔,留空为全部)', routesHint: '路由(逗号分隔,留空为全部)',
  keysHelp: '托管密钥。新建或轮换的密钥只显示一次,网关只保存其哈希。', noKeys: '还没有托管密钥。',
  needsAdmin: '此页面需要管理员角色。',
  shadowHelp: '影子流量:候选供应商与主供应商回答相同请求。一致率越高、延迟比越低,候选越可取。',
  candidate: '候选', pairs: '对比数', agreement: '一致率', similarity: '相似度', tools: '工具一致率',
  latRatio: '延迟比 p50 / p95', ttfbRatio: '首字节比 p50', tokDelta: 'token 差 输入 / 输出', noShadow: '还没有影子对比:请在路由上配置影子目标。',
  queue: '队列', dropped: '丢弃',
  configHelp: '运行中的配置。所有密钥显示为 ***。', loadedAt: '加载时间', lastReload: '最近重载',
  noReload: '启动以来未重载。', reloadSource: { signal: 'SIGHUP 信号', file: '配置文件变更', admin: '管理 API' },
  reserved: '预留', budgetsToday: '预算使用(当前周期)', noBudgets: '未配置预算(usage.budgets)。',
  error: '错误', updated: '更新于', never: '—',
};

const words = { en, zh };

export function initialLang() {
  const saved = localStorage.getItem('ferry.lang');
  if (saved === 'en' || saved === 'zh') return saved;
  return (navigator.language || '').toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

export function translator(lang) {
  const dict = words[lang] || en;
  return key => dict[key] ?? en[key] ?? key;
}
