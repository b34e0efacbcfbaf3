/** npm run lab:clean: removes every namespace (and its processes) and data disk an interrupted lab run left. */
import { cleanAll, leftovers, unmountLeftoverDisks } from './netlab.js';

const before = leftovers();
cleanAll();
const disks = unmountLeftoverDisks();
console.log(before.length || disks ? `removed ${[...before, `${disks} data disk(s)`].join(', ')}` : 'nothing to clean');
