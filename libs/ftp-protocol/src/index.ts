export * from './errors.js';
export * from './reply-parser.js';
export * from './command-splitter.js';
export * from './passive.js';
export * from './features.js';
export * from './data-protection.js';
export * from './commands.js';
