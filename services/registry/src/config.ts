import { z } from 'zod';
import { commonEnv, listenPort, parseEnv, secondsAsMs, secret } from '@dwld/config';

export const registryEnv = z.object({
  ...commonEnv(8082),
  GRPC_HOST: z.string().optional().transform((v) => v ?? '0.0.0.0'),
  GRPC_PORT: listenPort(9999),
  /** Unset: any caller may register (the deployed downloaders send no token). */
  REGISTRATION_TOKEN: secret(16).optional(),
  HEALTH_INTERVAL_S: secondsAsMs(5, { min: 0.05 }),
  UNHEALTHY_AFTER_S: secondsAsMs(30, { min: 0 }),
  DOWNLOADER_DEADLINE_S: secondsAsMs(5, { min: 0.05 }),
  SHUTDOWN_TIMEOUT_S: secondsAsMs(15, { min: 1 }),
});

export type RegistryConfig = z.infer<typeof registryEnv>;

export function parseRegistryConfig(env: Record<string, string | undefined>): RegistryConfig {
  return parseEnv(registryEnv, env);
}
