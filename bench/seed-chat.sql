-- Seeds the chat tables of an already migrated EPOP database for the chat benchmarks (`bench/run.sh chat`):
-- 200 users, 2,000 conversations (about a tenth direct, the rest groups) with their members, and exactly
-- 1,000,000 messages with gap-free per-conversation `seq`, `conversations.last_seq` / `last_message_at` that
-- match, and read positions a little behind. Conversation 0 ("Bench hot room") gets 48,533 of them; the
-- benchmark adds its bench user to it.
--
-- Everything is set-based (generate_series) and deterministic: ids are md5-derived (messages get
-- UUIDv7-shaped ids whose first 48 bits are their creation time, as the application writes them), and texts
-- are picked from fixed word lists by hashint8 of the message number. Texts are English, Indonesian, mixed,
-- and about one in ten Chinese (so search has CJK bigrams). The schema is not touched: no index is dropped,
-- `search_vector` is computed by its GENERATED expression. Only this session's settings are changed.
--
-- Run: psql -v ON_ERROR_STOP=1 -f bench/seed-chat.sql "$DATABASE_URL"

\set ON_ERROR_STOP on
SET synchronous_commit = off;
SET work_mem = '256MB';
SET maintenance_work_mem = '512MB';
-- Larger GIN pending lists: fewer, bigger merges into the search and trigram indexes during the bulk insert.
SET gin_pending_list_limit = '64MB';

BEGIN;

-- Every message timestamp lies before this instant, so messages posted by the benchmark come after them.
CREATE TEMP TABLE seed_clock ON COMMIT DROP AS SELECT date_trunc('minute', now()) - interval '1 hour' AS base;

INSERT INTO users (id, name, email, password_hash, role, created_at, updated_at)
SELECT md5('epop-bench-user-' || u)::uuid,
       (ARRAY['Andi','Budi','Citra','Dewi','Eka','Fajar','Gita','Hadi','Intan','Joko','Kartika','Lina',
              'Maya','Nanda','Oscar','Putri','Rizky','Sari','Tono','Wati','Alice','Bob','Carol','Dave',
              'Erin','Frank','Wei','Li','Mei','Jun'])[1 + u % 30] || ' ' || u,
       'seed' || u || '@bench.example',
       -- not a valid hash: seeded users cannot log in (only the bench user, registered through the API)
       'seeded-user-no-login',
       CASE WHEN u = 0 THEN 'admin' ELSE 'member' END,
       (SELECT base FROM seed_clock) - interval '200 days',
       (SELECT base FROM seed_clock) - interval '200 days'
FROM generate_series(0, 199) AS u;

-- Conversation plan: c = 0 is the hot group; every tenth other one is a direct conversation between users
-- d and d+1 (d = c/10, so direct keys are unique); the rest are groups of 3 to 20 members. Member j of a
-- group is user (7c + 13j) mod 200 (distinct for j < 200); member 0 created it.
CREATE TEMP TABLE seed_conv ON COMMIT DROP AS
SELECT c,
       md5('epop-bench-conv-' || c)::uuid AS id,
       CASE WHEN c > 0 AND c % 10 = 0 THEN 'direct' ELSE 'group' END AS kind,
       CASE WHEN c = 0 THEN 40 WHEN c % 10 = 0 THEN 2 ELSE 3 + c % 18 END AS member_count,
       CASE WHEN c = 0 THEN 0 ELSE 50 + (c * 37) % 853 END AS size,
       (SELECT base FROM seed_clock) - interval '180 days' + (c % 30) * interval '1 day' AS started
FROM generate_series(0, 1999) AS c;
-- The hot conversation takes what is left of the million.
UPDATE seed_conv SET size = 1000000 - (SELECT sum(size) FROM seed_conv WHERE c > 0) WHERE c = 0;

CREATE TEMP TABLE seed_member ON COMMIT DROP AS
SELECT sc.c, sc.id AS conversation_id, j,
       md5('epop-bench-user-' ||
           CASE WHEN sc.kind = 'direct' THEN (sc.c / 10 + j) % 200 ELSE (sc.c * 7 + j * 13) % 200 END)::uuid
           AS user_id
FROM seed_conv sc, generate_series(0, sc.member_count - 1) AS j;

INSERT INTO conversations (id, kind, name, created_by, direct_key, last_seq, last_message_at, created_at,
                           updated_at)
SELECT sc.id, sc.kind,
       CASE WHEN sc.c = 0 THEN 'Bench hot room'
            WHEN sc.kind = 'group' THEN
                (ARRAY['Tim','Proyek','Rapat','Team','Project','Weekly','Ops','Design','Sales','项目组'])
                    [1 + sc.c % 10] || ' ' || sc.c
       END,
       m0.user_id,
       CASE WHEN sc.kind = 'direct' THEN
           (SELECT string_agg(sm.user_id::text, ':' ORDER BY sm.user_id::text)
            FROM seed_member sm WHERE sm.c = sc.c)
       END,
       sc.size,
       sc.started + interval '149 days',
       sc.started - interval '1 day',
       sc.started + interval '149 days'
FROM seed_conv sc
JOIN seed_member m0 ON m0.c = sc.c AND m0.j = 0;

-- Read positions: a few messages behind the newest.
INSERT INTO conversation_members (conversation_id, user_id, joined_at, last_read_seq)
SELECT sm.conversation_id, sm.user_id, sc.started - interval '1 day',
       greatest(sc.size - abs(hashint4(sc.c * 1000 + sm.j)::bigint) % 30, 0)
FROM seed_member sm JOIN seed_conv sc ON sc.c = sm.c;

-- Messages: message seq of conversation c is created at started + (seq / size) * 149 days, sent by one of
-- its members; inserted in creation order, as the application would have written them.
INSERT INTO messages (id, conversation_id, seq, sender_id, content, client_id, created_at, updated_at)
SELECT (lpad(to_hex((extract(epoch FROM g.at) * 1000)::bigint), 12, '0') || '7' || substr(g.h, 1, 3)
        || '8' || substr(g.h, 4, 15))::uuid,
       g.conversation_id, g.seq,
       md5('epop-bench-user-' ||
           CASE WHEN g.kind = 'direct' THEN (g.c / 10 + g.pick % 2) % 200
                ELSE (g.c * 7 + (g.pick % g.member_count) * 13) % 200 END)::uuid,
       CASE
           -- Chinese: one or two sentences
           WHEN g.pick % 20 < 2 THEN
               w.zh[1 + abs(hashint8(g.n * 3 + 1)::bigint) % array_length(w.zh, 1)]
               || CASE WHEN g.pick % 3 = 0
                       THEN '，' || w.zh[1 + abs(hashint8(g.n * 3 + 2)::bigint) % array_length(w.zh, 1)] ELSE '' END
           -- Indonesian
           WHEN g.pick % 20 < 6 THEN
               array_to_string(ARRAY(SELECT w.id[1 + abs(hashint8(g.n * 16 + k)::bigint) % array_length(w.id, 1)]
                                     FROM generate_series(1, 4 + g.pick % 11) AS k), ' ')
           -- English, sometimes with an Indonesian word in it
           ELSE
               array_to_string(ARRAY(SELECT CASE WHEN k = 3 AND g.pick % 5 = 0
                                                 THEN w.id[1 + abs(hashint8(g.n * 16 + k)::bigint) % array_length(w.id, 1)]
                                                 ELSE w.en[1 + abs(hashint8(g.n * 16 + k)::bigint) % array_length(w.en, 1)]
                                            END
                                     FROM generate_series(1, 4 + g.pick % 11) AS k), ' ')
       END,
       NULL,
       g.at, g.at
FROM (
    SELECT sc.c, sc.id AS conversation_id, sc.kind, sc.member_count, s.seq,
           sc.c::bigint * 1000000 + s.seq AS n,
           abs(hashint8(sc.c::bigint * 1000000 + s.seq)::bigint) AS pick,
           md5('epop-bench-msg-' || sc.c || '-' || s.seq) AS h,
           sc.started + (s.seq::float8 / sc.size) * interval '149 days' AS at
    FROM seed_conv sc, generate_series(1, sc.size) AS s(seq)
) AS g,
(SELECT
    ARRAY['the','report','meeting','project','deadline','today','tomorrow','please','check','update',
          'review','budget','client','design','draft','final','team','schedule','call','email','send',
          'share','document','slides','invoice','payment','release','deploy','server','bug','fix','test',
          'build','feature','ticket','sprint','demo','launch','plan','status','progress','blocked','done',
          'thanks','sorry','great','good','morning','afternoon','lunch','coffee','office','remote','weekend',
          'monday','tuesday','wednesday','thursday','friday','quarter','sales','numbers','target','revenue',
          'customer','feedback','issue','question','answer','help','agenda','notes','minutes','room','link',
          'file','folder','approve','approved','sign','contract','vendor','order','shipment','delay','urgent',
          'soon','later','now','ok','yes','no','maybe','can','we','you','I','they','will','need','should',
          'let','know','about','for','with','on','in','at','by','after','before','this','that','new','old',
          'first','last','next','week','month','year','is','are','was','ready','still','already'] AS en,
    ARRAY['laporan','rapat','proyek','tenggat','hari','ini','besok','tolong','cek','kirim','sudah','belum',
          'selesai','anggaran','klien','desain','tim','jadwal','telepon','dokumen','faktur','pembayaran',
          'terima','kasih','maaf','bagus','pagi','siang','sore','malam','makan','kopi','kantor','minggu',
          'depan','lalu','bulan','tahun','target','penjualan','pelanggan','masukan','masalah','pertanyaan',
          'jawaban','bantu','agenda','catatan','ruang','tautan','berkas','setuju','kontrak','pesanan',
          'pengiriman','terlambat','segera','nanti','sekarang','ya','tidak','mungkin','bisa','kita','kami',
          'kamu','saya','mereka','akan','perlu','harus','untuk','dengan','di','ke','dari','yang','dan',
          'atau','baru','lama','pertama','terakhir','berikutnya','siap','masih','tentang','rilis','uji',
          'perbaiki','fitur','tiket','presentasi','semua','orang','apa','kapan','bagaimana','kenapa'] AS id,
    ARRAY['明天的项目会议改到下午三点','请大家今天之前提交周报告','客户对新的设计方案很满意',
          '这个项目的预算需要重新审核','会议记录已经发到群里了','我们下周一开会讨论发布计划',
          '服务器今天晚上需要维护','测试发现了两个新的问题','报告的数据还需要再检查一下',
          '谢谢大家的辛苦工作','这个功能下个版本再上线','项目进度比预期快了一点',
          '请把合同发给我确认','今天下午的会议取消了','销售数字这个月增长了百分之十',
          '我们需要更多的测试时间','项目经理明天出差','新同事下周加入我们的团队',
          '会议室已经预订好了','发票已经寄出去了','客户希望提前交付','文档已经更新到最新版本',
          '周末有人值班吗','这个问题已经修复了','请大家准时参加会议','项目文件都在共享文件夹里',
          '设计稿需要再改一版','明天早上九点开站会','付款已经完成了','发布计划推迟到下周',
          '中文搜索测试一下','大家午饭吃什么','这个需求我们再讨论一下','年底的目标还差一点',
          '项目总结报告写好了','会议时间定在周三下午','服务器的性能需要优化','客户反馈都整理好了',
          '我们的产品下个月发布','今天的进度更新在这里'] AS zh
) AS w
ORDER BY g.at;

COMMIT;

-- Planner statistics (and the visibility map, so index-only scans work) for what was just loaded.
VACUUM (ANALYZE) users, conversations, conversation_members, messages;
