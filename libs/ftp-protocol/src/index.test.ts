import * as api from './index.js';

describe('package entry point', () => {
  it.each([
    { desc: 'FtpProtocolError', name: 'FtpProtocolError', type: 'function' },
    { desc: 'ReplyParser', name: 'ReplyParser', type: 'function' },
    { desc: 'isPreliminary', name: 'isPreliminary', type: 'function' },
    { desc: 'isFinal', name: 'isFinal', type: 'function' },
    { desc: 'isPositiveCompletion', name: 'isPositiveCompletion', type: 'function' },
    { desc: 'CommandSplitter', name: 'CommandSplitter', type: 'function' },
    { desc: 'formatCommandForLog', name: 'formatCommandForLog', type: 'function' },
    { desc: 'parsePasvReply', name: 'parsePasvReply', type: 'function' },
    { desc: 'parseEpsvReply', name: 'parseEpsvReply', type: 'function' },
    { desc: 'formatPasvReply', name: 'formatPasvReply', type: 'function' },
    { desc: 'formatEpsvReply', name: 'formatEpsvReply', type: 'function' },
    { desc: 'toIpv4', name: 'toIpv4', type: 'function' },
    { desc: 'rewriteFeatReply', name: 'rewriteFeatReply', type: 'function' },
    { desc: 'initialProtection', name: 'initialProtection', type: 'object' },
    { desc: 'handlePbsz', name: 'handlePbsz', type: 'function' },
    { desc: 'handleProt', name: 'handleProt', type: 'function' },
    { desc: 'dataConnectionAllowed', name: 'dataConnectionAllowed', type: 'function' },
    { desc: 'classifyCommand', name: 'classifyCommand', type: 'function' },
    { desc: 'formatReply', name: 'formatReply', type: 'function' },
  ])('exports $desc', ({ name, type }) => {
    expect(typeof (api as Record<string, unknown>)[name]).toBe(type);
  });
});
