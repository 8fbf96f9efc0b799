export * from './errors';
export * from './hosts';
export * from './channels';
export * from './wire';
