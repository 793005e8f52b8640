/** Where the license key is kept: the OS keyring (default), a 0600 file in the data
 * directory, the keyring when it works else the file, or memory only. */
export type KeyStore = 'os' | 'file' | 'os_else_file' | 'memory';

export interface ClientOptions {
  brokerUrl: string;
  appId: string;
  /** The pinned verdict-signing keys, "kid:base64url[,…]". */
  trustedKeys: string;
  appVersion?: string;
  product?: string;
  /** Unix seconds: when this build was made (for perpetual-fallback licenses). */
  buildTime?: number;
  dataDir?: string;
  keyStore?: KeyStore;
  machineId?: string;
  timeoutMs?: number;
}

export interface Machine {
  id: string;
  name: string | null;
  last_seen: number;
  current: boolean;
}

export interface Machines {
  used: number;
  max: number | null;
  list: Machine[];
}

/** The verdict: the JSON object of `license-check --json`. */
export declare class Verdict {
  readonly licensed: boolean;
  /** "VALID", "MACHINE_LIMIT", "OFFLINE_GRACE", … */
  readonly code: string;
  readonly source: 'online' | 'cache';
  readonly expires_at: number | null;
  readonly offline_until: number | null;
  readonly message: string;
  readonly machines: Machines | null;
  readonly product: string | null;
  readonly entitlements: string[];
  /** 0 licensed, 1 not licensed, 2 undetermined. */
  readonly exit_code: number;
  /** The technical cause behind the message (for a log), or null. */
  readonly detail?: string | null;
  hasEntitlement(name: string): boolean;
  toJSON(): Record<string, unknown>;
}

/** A call did not reach a verdict. */
export declare class LicenseClientError extends Error {
  /** "INVALID_KEY", "NO_LICENSE", "BROKER_UNREACHABLE", "RATE_LIMITED", … */
  readonly kind: string;
  /** The lc_status number of the C ABI. */
  readonly status: number;
}

export declare class Client {
  constructor(options: ClientOptions);
  check(options?: { mode?: 'auto' | 'refresh' | 'offline' }): Promise<Verdict>;
  /** `options.replace`: a seat id to free first (the way out of MACHINE_LIMIT). */
  activate(key: string, machineName?: string | null, options?: { replace?: string }): Promise<Verdict>;
  deactivate(): Promise<Verdict>;
  /** Offline activation: a request code made with no network. */
  offlineRequest(key: string): Promise<string>;
  /** Installs the license server's response code to this machine's pending request. */
  installOfflineResponse(code: string): Promise<Verdict>;
  /** Removes the key and the lease; the signed deactivation code. */
  deactivateOffline(): Promise<string>;
  deactivateMachine(machineId: string): Promise<Verdict>;
  /** `options.key`: list that key's seats instead of the stored license's. */
  machines(options?: { key?: string }): Promise<Verdict>;
  checkout(key: string, machineName?: string | null, options?: { borrowDays?: number }): Promise<Verdict>;
  checkin(): Promise<Verdict>;
  startTrial(): Promise<Verdict>;
  /** Calls `callback(code, message)` once, on the main thread, when the floating seat
   * checkout() took is lost (`code` e.g. "DEACTIVATED"); `null` unregisters it. */
  onSeatLost(callback: ((code: string, message: string) => void) | null): void;
  /** Frees the native client after the calls in flight; resolves once it is freed. */
  close(): Promise<void>;
}

export declare function libraryVersion(): string;
