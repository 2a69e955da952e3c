import { demoConfigFromEnv } from './config.js';

describe('demoConfigFromEnv', () => {
  it('applies the documented defaults', () => {
    const { config, secrets } = demoConfigFromEnv({}, '/app');
    expect(config).toEqual({
      rootDir: '/app/.data/demo-files',
      workDir: '/app/.data/demo-upstream',
      host: '127.0.0.1',
      ftpPort: 2121,
      passiveRange: { from: 3000, to: 3008 },
      httpPort: 8080,
      user: 'demo',
      maxUploadBytes: 1024 ** 3,
      pasvPromiscuous: true,
    });
    expect(secrets).toEqual({ password: 'demo-password' });
  });

  it('reads every variable', () => {
    const { config, secrets } = demoConfigFromEnv(
      {
        DEMO_ROOT: '/srv/files',
        DEMO_WORK_DIR: 'work',
        DEMO_HOST: '0.0.0.0',
        DEMO_FTP_PORT: '21',
        DEMO_PASSIVE_FROM: '30000',
        DEMO_PASSIVE_TO: '30009',
        DEMO_HTTP_PORT: '80',
        DEMO_USER: 'alice',
        DEMO_PASSWORD: 's3cret',
        DEMO_MAX_UPLOAD_BYTES: '1000',
        DEMO_PASV_PROMISCUOUS: 'false',
      },
      '/app',
    );
    expect(config).toMatchObject({
      rootDir: '/srv/files',
      workDir: '/app/work',
      host: '0.0.0.0',
      ftpPort: 21,
      passiveRange: { from: 30000, to: 30009 },
      httpPort: 80,
      user: 'alice',
      maxUploadBytes: 1000,
      pasvPromiscuous: false,
    });
    expect(secrets.password).toBe('s3cret');
    expect(JSON.stringify(config)).not.toContain('s3cret');
  });

  it.each([
    { desc: 'port out of range', env: { DEMO_FTP_PORT: '70000' }, error: /DEMO_FTP_PORT/ },
    { desc: 'port not a number', env: { DEMO_HTTP_PORT: 'http' }, error: /DEMO_HTTP_PORT/ },
    { desc: 'reversed passive range', env: { DEMO_PASSIVE_FROM: '3010', DEMO_PASSIVE_TO: '3000' }, error: /DEMO_PASSIVE_FROM/ },
    { desc: 'bad upload limit', env: { DEMO_MAX_UPLOAD_BYTES: '-1' }, error: /DEMO_MAX_UPLOAD_BYTES/ },
    { desc: 'bad flag', env: { DEMO_PASV_PROMISCUOUS: 'maybe' }, error: /DEMO_PASV_PROMISCUOUS/ },
  ])('refuses $desc', ({ env, error }) => {
    expect(() => demoConfigFromEnv(env, '/app')).toThrow(error);
  });
});
