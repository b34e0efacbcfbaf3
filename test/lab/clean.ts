/** npm run lab:clean: removes every namespace (and its processes) an interrupted lab run left. */
import { cleanAll, leftovers } from './netlab.js';

const before = leftovers();
cleanAll();
console.log(before.length ? `removed ${before.join(', ')}` : 'nothing to clean');
