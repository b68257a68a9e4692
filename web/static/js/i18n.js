// The message catalogue and the reader's language. Every piece of text the
// app shows goes through I18n.t, so a new language is one more catalogue.

const en = {
  'app.name': 'Parley',
  'app.loading': 'Loading…',
  'app.language': 'Language',
  'app.skipToContent': 'Skip to content',
  'app.version': 'Parley {version}',
  'app.loadFailed': 'Parley could not reach its server.',
  'app.retry': 'Try again',

  'auth.email': 'Email',
  'auth.password': 'Password',
  'auth.name': 'Name',
  'auth.invite': 'Invite code',
  'auth.passwordHint': 'Use 10 to 256 characters.',
  'auth.inviteHint': 'Signing up needs an invite. Ask an administrator for a code.',
  'auth.signIn.title': 'Sign in',
  'auth.signIn.intro': 'Welcome back to Parley.',
  'auth.signIn.submit': 'Sign in',
  'auth.signIn.noAccount': 'New to Parley?',
  'auth.signIn.toSignUp': 'Create account',
  'auth.signIn.closed': 'New accounts are created by an administrator.',
  'auth.signUp.title': 'Create account',
  'auth.signUp.intro': 'Create your Parley account.',
  'auth.signUp.submit': 'Create account',
  'auth.signUp.haveAccount': 'Already have an account?',
  'auth.signUp.toSignIn': 'Sign in',
  'auth.sessionEnded': 'Your session has ended. Please sign in again.',
  'auth.signedOut': 'You have signed out.',

  'validation.required': 'Fill in this field.',
  'validation.email': 'Enter an email address such as name@example.com.',
  'validation.passwordLength': 'Use 10 to 256 characters (this has {count}).',
  'validation.tooLong': 'Use at most {max} characters.',

  'error.network': 'Cannot reach the server. Check your connection and try again.',
  'error.rateLimited': 'Too many attempts. Wait {seconds} seconds and try again.',
  'error.rateLimitedOne': 'Too many attempts. Wait 1 second and try again.',
  'error.rateLimitedSoon': 'Too many attempts. Wait a moment and try again.',
  'error.unexpected': 'Something went wrong (error {status}). Try again.',
  'error.fixFields': 'Check the fields marked below.',

  'account.title': 'Account',
  'account.signedInAs': 'Signed in as {name} ({role})',
  'account.signOut': 'Sign out',
  'account.messengerSoon': 'The messenger arrives soon. Until then, you can manage your account here.',

  'role.admin': 'admin',
  'role.agent': 'agent',
  'role.expert': 'expert',
  'role.member': 'member',

  'sessions.title': 'Sessions',
  'sessions.intro': 'The browsers and devices signed in to your account.',
  'sessions.thisDevice': 'This device',
  'sessions.end': 'End session',
  'sessions.endConfirm': 'End this session? That device will be signed out.',
  'sessions.ended': 'Session ended.',
  'sessions.signedIn': 'Signed in {date}',
  'sessions.lastSeen': 'Last active {date}',
  'sessions.ip': 'IP address {ip}',
  'sessions.empty': 'No sessions.',
  'sessions.unknownDevice': 'Unknown device',
  'sessions.browserOn': '{browser} on {os}',

  'password.title': 'Change password',
  'password.current': 'Current password',
  'password.new': 'New password',
  'password.submit': 'Change password',
  'password.changed': 'Your password has been changed.',

  'tokens.title': 'API tokens',
  'tokens.intro': 'Tokens let scripts and integrations use the API as you. Keep them as safe as a password.',
  'tokens.name': 'Token name',
  'tokens.create': 'Create token',
  'tokens.created': 'Token “{name}” created. Copy it now: it will not be shown again.',
  'tokens.secret': 'New token',
  'tokens.copy': 'Copy',
  'tokens.copied': 'Copied',
  'tokens.copyFailed': 'Could not copy. Select the token and copy it yourself.',
  'tokens.done': 'Done',
  'tokens.empty': 'No tokens yet.',
  'tokens.revoke': 'Revoke',
  'tokens.revokeConfirm': 'Revoke the token “{name}”? Anything that uses it stops working.',
  'tokens.revoked': 'Token revoked.',
  'tokens.prefix': 'Starts with {prefix}',
  'tokens.createdAt': 'Created {date}',
  'tokens.lastUsed': 'Last used {date}',
  'tokens.neverUsed': 'Never used',
  'tokens.expires': 'Expires {date}',
  'tokens.noExpiry': 'Does not expire',

  'dialog.cancel': 'Cancel',
};

/** @typedef {keyof typeof en} MessageKey */

/** @type {Record<MessageKey, string>} */
const ko = {
  'app.name': 'Parley',
  'app.loading': '불러오는 중…',
  'app.language': '언어',
  'app.skipToContent': '본문으로 건너뛰기',
  'app.version': 'Parley {version}',
  'app.loadFailed': 'Parley 서버에 연결할 수 없습니다.',
  'app.retry': '다시 시도',

  'auth.email': '이메일',
  'auth.password': '비밀번호',
  'auth.name': '이름',
  'auth.invite': '초대 코드',
  'auth.passwordHint': '10자 이상 256자 이하로 입력하세요.',
  'auth.inviteHint': '가입하려면 초대 코드가 필요합니다. 관리자에게 코드를 요청하세요.',
  'auth.signIn.title': '로그인',
  'auth.signIn.intro': 'Parley에 다시 오신 것을 환영합니다.',
  'auth.signIn.submit': '로그인',
  'auth.signIn.noAccount': 'Parley가 처음이신가요?',
  'auth.signIn.toSignUp': '계정 만들기',
  'auth.signIn.closed': '새 계정은 관리자가 만듭니다.',
  'auth.signUp.title': '계정 만들기',
  'auth.signUp.intro': 'Parley 계정을 만드세요.',
  'auth.signUp.submit': '계정 만들기',
  'auth.signUp.haveAccount': '이미 계정이 있으신가요?',
  'auth.signUp.toSignIn': '로그인',
  'auth.sessionEnded': '세션이 종료되었습니다. 다시 로그인하세요.',
  'auth.signedOut': '로그아웃했습니다.',

  'validation.required': '이 항목을 입력하세요.',
  'validation.email': 'name@example.com 형식의 이메일 주소를 입력하세요.',
  'validation.passwordLength': '10자 이상 256자 이하로 입력하세요(현재 {count}자).',
  'validation.tooLong': '{max}자 이하로 입력하세요.',

  'error.network': '서버에 연결할 수 없습니다. 네트워크 연결을 확인한 뒤 다시 시도하세요.',
  'error.rateLimited': '시도 횟수가 너무 많습니다. {seconds}초 후에 다시 시도하세요.',
  'error.rateLimitedOne': '시도 횟수가 너무 많습니다. 1초 후에 다시 시도하세요.',
  'error.rateLimitedSoon': '시도 횟수가 너무 많습니다. 잠시 후에 다시 시도하세요.',
  'error.unexpected': '문제가 발생했습니다(오류 {status}). 다시 시도하세요.',
  'error.fixFields': '아래 표시된 항목을 확인하세요.',

  'account.title': '계정',
  'account.signedInAs': '{name}({role}) 계정으로 로그인되어 있습니다',
  'account.signOut': '로그아웃',
  'account.messengerSoon': '메신저는 곧 제공됩니다. 그동안 여기에서 계정을 관리할 수 있습니다.',

  'role.admin': '관리자',
  'role.agent': '상담원',
  'role.expert': '전문가',
  'role.member': '회원',

  'sessions.title': '세션',
  'sessions.intro': '내 계정에 로그인된 브라우저와 기기입니다.',
  'sessions.thisDevice': '현재 기기',
  'sessions.end': '세션 종료',
  'sessions.endConfirm': '이 세션을 종료할까요? 해당 기기에서 로그아웃됩니다.',
  'sessions.ended': '세션을 종료했습니다.',
  'sessions.signedIn': '로그인 {date}',
  'sessions.lastSeen': '마지막 활동 {date}',
  'sessions.ip': 'IP 주소 {ip}',
  'sessions.empty': '세션이 없습니다.',
  'sessions.unknownDevice': '알 수 없는 기기',
  'sessions.browserOn': '{os}의 {browser}',

  'password.title': '비밀번호 변경',
  'password.current': '현재 비밀번호',
  'password.new': '새 비밀번호',
  'password.submit': '비밀번호 변경',
  'password.changed': '비밀번호를 변경했습니다.',

  'tokens.title': 'API 토큰',
  'tokens.intro': '토큰을 사용하면 스크립트와 연동 서비스가 내 권한으로 API를 사용할 수 있습니다. 비밀번호처럼 안전하게 보관하세요.',
  'tokens.name': '토큰 이름',
  'tokens.create': '토큰 만들기',
  'tokens.created': '토큰 “{name}”을(를) 만들었습니다. 지금 복사하세요. 다시 표시되지 않습니다.',
  'tokens.secret': '새 토큰',
  'tokens.copy': '복사',
  'tokens.copied': '복사됨',
  'tokens.copyFailed': '복사하지 못했습니다. 토큰을 선택해 직접 복사하세요.',
  'tokens.done': '완료',
  'tokens.empty': '아직 토큰이 없습니다.',
  'tokens.revoke': '폐기',
  'tokens.revokeConfirm': '토큰 “{name}”을(를) 폐기할까요? 이 토큰을 사용하는 곳은 모두 작동을 멈춥니다.',
  'tokens.revoked': '토큰을 폐기했습니다.',
  'tokens.prefix': '{prefix}(으)로 시작',
  'tokens.createdAt': '생성 {date}',
  'tokens.lastUsed': '마지막 사용 {date}',
  'tokens.neverUsed': '사용한 적 없음',
  'tokens.expires': '만료 {date}',
  'tokens.noExpiry': '만료 없음',

  'dialog.cancel': '취소',
};

/** @typedef {'en' | 'ko'} Locale */

/** @type {Record<Locale, Record<MessageKey, string>>} */
const catalogues = { en, ko };

/** The languages on offer, each named in itself for the switcher. */
export const locales = /** @type {const} */ ([
  { code: 'en', name: 'English' },
  { code: 'ko', name: '한국어' },
]);

const storageKey = 'parley.locale';

/**
 * @param {string} value
 * @returns {value is Locale}
 */
function isLocale(value) {
  return Object.hasOwn(catalogues, value);
}

/**
 * The first of the reader's preferred languages that the app speaks.
 * @param {readonly string[]} preferred BCP 47 tags, most wanted first
 * @returns {Locale}
 */
export function matchLocale(preferred) {
  for (const tag of preferred) {
    const language = tag.toLowerCase().split('-')[0];
    if (isLocale(language)) return language;
  }
  return 'en';
}

/**
 * Translates message keys for one locale at a time and formats dates to
 * match. Listeners hear about a change of language so views can redraw.
 */
export class I18n {
  /** @type {Locale} */
  #locale;
  /** @type {Storage | null} */
  #storage;
  /** @type {Set<(locale: Locale) => void>} */
  #listeners = new Set();

  /**
   * @param {{ storage: Storage | null, preferred: readonly string[] }} options
   *   storage keeps an explicit choice; preferred is navigator.languages.
   */
  constructor({ storage, preferred }) {
    this.#storage = storage;
    const saved = readStorage(storage);
    this.#locale = saved !== null && isLocale(saved) ? saved : matchLocale(preferred);
  }

  /** @returns {Locale} */
  get locale() {
    return this.#locale;
  }

  /**
   * Switches language, remembers the choice and tells the listeners.
   * @param {Locale} locale
   */
  setLocale(locale) {
    if (locale === this.#locale) return;
    this.#locale = locale;
    try {
      this.#storage?.setItem(storageKey, locale);
    } catch {
      // Storage can be full or forbidden (private windows); the choice then
      // lasts for this page only.
    }
    for (const listener of this.#listeners) listener(locale);
  }

  /**
   * @param {(locale: Locale) => void} listener
   * @returns {() => void} removes the listener
   */
  onChange(listener) {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * The message for key, with {placeholders} filled from params.
   * @param {MessageKey} key
   * @param {Record<string, string | number>} [params]
   * @returns {string}
   */
  t(key, params) {
    const template = catalogues[this.#locale][key] ?? en[key];
    if (!params) return template;
    return template.replace(/\{(\w+)\}/g, (match, name) =>
      Object.hasOwn(params, name) ? String(params[name]) : match);
  }

  /**
   * Whether key is a message of the catalogue (for keys built from server
   * values, such as a role).
   * @param {string} key
   * @returns {key is MessageKey}
   */
  has(key) {
    return Object.hasOwn(en, key);
  }

  /**
   * A date and time as the reader writes them.
   * @param {string} iso an RFC 3339 timestamp from the API
   * @returns {string}
   */
  formatDateTime(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return iso;
    return new Intl.DateTimeFormat(this.#locale, { dateStyle: 'medium', timeStyle: 'short' }).format(date);
  }
}

/**
 * @param {Storage | null} storage
 * @returns {string | null}
 */
function readStorage(storage) {
  try {
    return storage?.getItem(storageKey) ?? null;
  } catch {
    return null;
  }
}
