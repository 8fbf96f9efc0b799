export * from './common';
export * from './errors';
export * from './app';
export * from './hosts';
export * from './terminal';
export * from './connect';
export * from './channels';
export * from './wire';
