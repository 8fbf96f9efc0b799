#!/usr/bin/env node
// `npm run web` starts here: a warning when this Node is not the pinned major; never fails.
import { warnIfNotPinnedNode } from './node-version.mjs';

warnIfNotPinnedNode();
