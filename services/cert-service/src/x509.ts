// @peculiar/x509 resolves its algorithm registry through tsyringe, which needs the Reflect metadata API first.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

// Node's WebCrypto is OpenSSL underneath: signing happens there, not in JavaScript.
x509.cryptoProvider.set(webcrypto);

export { x509 };
