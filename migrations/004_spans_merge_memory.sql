-- Under sustained ingest the engine's memory peak comes from background merges of `spans`, not from the
-- inserts: a horizontal merge reads every column of every source part at once in 8,192-row blocks with
-- 1 MiB compression buffers per column stream. Always merging column by column (vertical), in 2,048-row
-- blocks with 256 KiB compression blocks, cut the engine's tracked peak from ~205 to ~60 MiB and the
-- process's RSS growth under back-to-back 11k-row inserts from ~360 to ~210 MiB, at the same CPU per row
-- (measured with chDB 3.4, see docs/BENCHMARKS.md). Smaller compression blocks also mean less to
-- decompress when one trace's spans are read by primary key.
ALTER TABLE spans MODIFY SETTING
    vertical_merge_algorithm_min_rows_to_activate = 1,
    vertical_merge_algorithm_min_columns_to_activate = 1,
    merge_max_block_size = 2048,
    max_compress_block_size = 262144;
