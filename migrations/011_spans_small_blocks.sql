-- Reading a few traces' spans by primary key (the list's exact numbers for a page of 50 traces, the detail,
-- the detector's trees) decompresses every compression block its granules touch, in every column it reads.
-- With blocks of at least 64 KiB a granule of ~2,500 rows shared its block with its neighbours, so a page's
-- ~70 granules decompressed several times the rows they hold. Measured on a copy of 6.9 M spans (one part each,
-- 15 runs, chDB 3.4): 8–32 KiB blocks read a page's numbers in p50 41 ms instead of 50 (2nd run; 41 vs 63 in
-- the 1st) and the 10,000-span trace in 125 ms instead of 146, for 2.6% more disk (compression ratio 4.10 vs
-- 4.21); they also lower what a merge holds per column stream. Parts written from now on, and those that
-- merges rewrite, use them.
ALTER TABLE spans MODIFY SETTING
    min_compress_block_size = 8192,
    max_compress_block_size = 32768;
