/** What resolving a host name found. */
export interface HostResolution {
  /** Every address found, IPv4 and IPv6. */
  addresses: string[];
  /**
   * Both families were answered (with addresses or a definite "none"): `addresses` is the whole
   * answer. False when one of them failed (timed out, refused…), so more may exist.
   */
  complete: boolean;
  /** Why no address was found, when none was (ENOTFOUND, ETIMEOUT, ECONNREFUSED…). */
  failure?: string;
}

/** Resolves host names (the intake's port; NodeDnsResolver is its adapter). Never rejects. */
export interface HostResolver {
  resolve(host: string): Promise<HostResolution>;
}
