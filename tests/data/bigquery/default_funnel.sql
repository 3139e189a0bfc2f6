WITH events AS (
  SELECT
    user_pseudo_id AS user_id,
    (
      SELECT
        COALESCE(
          p.value.string_value,
          CAST(p.value.int_value AS STRING),
          CAST(p.value.double_value AS STRING),
          CAST(p.value.float_value AS STRING)
        )
      FROM UNNEST(event_params) AS p WITH OFFSET AS o
      WHERE
        p.key = 'ga_session_id'
      ORDER BY
        o
      LIMIT 1
    ) AS session_id,
    event_name,
    COALESCE(
      (
        SELECT
          COALESCE(
            p.value.string_value,
            CAST(p.value.int_value AS STRING),
            CAST(p.value.double_value AS STRING),
            CAST(p.value.float_value AS STRING)
          )
        FROM UNNEST(event_params) AS p WITH OFFSET AS o
        WHERE
          p.key = 'source'
        ORDER BY
          o
        LIMIT 1
      ),
      traffic_source.source
    ) AS source,
    COALESCE(
      (
        SELECT
          COALESCE(
            p.value.string_value,
            CAST(p.value.int_value AS STRING),
            CAST(p.value.double_value AS STRING),
            CAST(p.value.float_value AS STRING)
          )
        FROM UNNEST(event_params) AS p WITH OFFSET AS o
        WHERE
          p.key = 'medium'
        ORDER BY
          o
        LIMIT 1
      ),
      traffic_source.medium
    ) AS medium,
    event_timestamp AS t,
    ROW_NUMBER() OVER (
      PARTITION BY user_pseudo_id
      ORDER BY event_timestamp, event_name, event_bundle_sequence_id
    ) AS seq
  FROM (
    SELECT
      user_pseudo_id,
      event_name,
      event_timestamp,
      event_bundle_sequence_id,
      event_params,
      traffic_source
    FROM `kpitui-test.analytics_123456.events_*`
    WHERE
      _TABLE_SUFFIX BETWEEN '20260922' AND '20261120'
    UNION ALL
    SELECT
      user_pseudo_id,
      event_name,
      event_timestamp,
      event_bundle_sequence_id,
      event_params,
      traffic_source
    FROM `kpitui-test.analytics_123456.events_intraday_*`
    WHERE
      _TABLE_SUFFIX IN ('20261120')
  )
), flagged AS (
  SELECT
    user_id,
    t,
    seq,
    (
      event_name = 'session_start'
    ) AS m0,
    (
      event_name = 'sign_up'
    ) AS m1,
    (
      event_name = 'begin_checkout'
    ) AS m2,
    (
      event_name = 'purchase'
    ) AS m3,
    CASE
      WHEN (
        event_name = 'session_start'
      )
      THEN 0
      WHEN (
        event_name = 'sign_up'
      )
      THEN 1
      WHEN (
        event_name = 'begin_checkout'
      )
      THEN 2
      WHEN (
        event_name = 'purchase'
      )
      THEN 3
      ELSE 4
    END AS step_rank
  FROM events
  WHERE
    NOT user_id IS NULL
    AND t >= 1790035200000000
    AND t < 1795219200000000
    AND (
      (
        event_name = 'session_start'
      )
      OR (
        event_name = 'sign_up'
      )
      OR (
        event_name = 'begin_checkout'
      )
      OR (
        event_name = 'purchase'
      )
    )
), base AS (
  SELECT
    user_id,
    session_id,
    event_name = 'sign_up' AS sign_up,
    source,
    medium,
    t,
    seq
  FROM events
  WHERE
    t >= 1792627200000000 AND t < 1795219200000000
), reach AS (
  WITH s0 AS (
    SELECT
      user_id,
      t,
      seq,
      t AS v
    FROM flagged
    WHERE
      m0
  ), c1 AS (
    SELECT
      user_id,
      t,
      seq,
      v
    FROM (
      SELECT
        user_id,
        t,
        seq,
        role,
        MAX(pv) OVER (
          PARTITION BY user_id
          ORDER BY t
          RANGE BETWEEN 2592000000000 PRECEDING AND CURRENT ROW
        ) AS v
      FROM (
        SELECT
          user_id,
          t,
          seq,
          0 AS role,
          v AS pv
        FROM s0 AS p
        WHERE
          EXISTS(
            SELECT
              1
            FROM flagged AS f
            WHERE
              f.m1 AND f.user_id = p.user_id
          )
        UNION ALL
        SELECT
          user_id,
          t,
          seq,
          1 AS role,
          CAST(NULL AS INT64) AS pv
        FROM flagged
        WHERE
          m1
      )
    )
    WHERE
      role = 1 AND NOT v IS NULL
  ), s1 AS (
    SELECT
      user_id,
      t,
      seq,
      v
    FROM c1
  ), c2 AS (
    SELECT
      user_id,
      t,
      seq,
      v
    FROM (
      SELECT
        user_id,
        t,
        seq,
        role,
        MAX(pv) OVER (
          PARTITION BY user_id
          ORDER BY t
          RANGE BETWEEN 2592000000000 PRECEDING AND CURRENT ROW
        ) AS v
      FROM (
        SELECT
          user_id,
          t,
          seq,
          0 AS role,
          v AS pv
        FROM s1 AS p
        WHERE
          EXISTS(
            SELECT
              1
            FROM flagged AS f
            WHERE
              f.m2 AND f.user_id = p.user_id
          )
        UNION ALL
        SELECT
          user_id,
          t,
          seq,
          1 AS role,
          CAST(NULL AS INT64) AS pv
        FROM flagged
        WHERE
          m2
      )
    )
    WHERE
      role = 1 AND NOT v IS NULL
  ), s2 AS (
    SELECT
      user_id,
      t,
      seq,
      v
    FROM c2
  ), c3 AS (
    SELECT
      user_id,
      t,
      seq,
      v
    FROM (
      SELECT
        user_id,
        t,
        seq,
        role,
        MAX(pv) OVER (
          PARTITION BY user_id
          ORDER BY t
          RANGE BETWEEN 2592000000000 PRECEDING AND CURRENT ROW
        ) AS v
      FROM (
        SELECT
          user_id,
          t,
          seq,
          0 AS role,
          v AS pv
        FROM s2 AS p
        WHERE
          EXISTS(
            SELECT
              1
            FROM flagged AS f
            WHERE
              f.m3 AND f.user_id = p.user_id
          )
        UNION ALL
        SELECT
          user_id,
          t,
          seq,
          1 AS role,
          CAST(NULL AS INT64) AS pv
        FROM flagged
        WHERE
          m3
      )
    )
    WHERE
      role = 1 AND NOT v IS NULL
  ), s3 AS (
    SELECT
      user_id,
      t,
      seq,
      v
    FROM c3
  )
  SELECT
    's' AS kind,
    0 AS step,
    user_id,
    t,
    seq,
    v
  FROM s0
  UNION ALL
  SELECT
    's',
    1,
    user_id,
    t,
    seq,
    v
  FROM s1
  UNION ALL
  SELECT
    's',
    2,
    user_id,
    t,
    seq,
    v
  FROM s2
  UNION ALL
  SELECT
    's',
    3,
    user_id,
    t,
    seq,
    v
  FROM s3
), entry_weeks AS (
  SELECT
    user_id,
    MIN(t) AS t
  FROM reach
  WHERE
    kind = 's' AND step = 0 AND t >= 1790380800000000 AND t < 1795219200000000
  GROUP BY
    user_id
), done_weeks AS (
  SELECT
    user_id,
    TRUE AS completed
  FROM reach
  WHERE
    kind = 's' AND step = 3
  GROUP BY
    user_id
  HAVING
    MAX(CASE WHEN t < 1795219200000000 THEN v END) >= 1790380800000000
), entry_period AS (
  SELECT
    user_id,
    t,
    seq
  FROM (
    SELECT
      user_id,
      t,
      seq,
      ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY t, seq) AS n
    FROM reach
    WHERE
      kind = 's' AND step = 0 AND t >= 1792627200000000 AND t < 1795219200000000
  )
  WHERE
    n = 1
), done_period AS (
  SELECT
    user_id,
    TRUE AS completed
  FROM reach
  WHERE
    kind = 's' AND step = 3
  GROUP BY
    user_id
  HAVING
    MAX(CASE WHEN t < 1795219200000000 THEN v END) >= 1792627200000000
), touch AS (
  SELECT
    user_id,
    seq
  FROM (
    SELECT
      user_id,
      seq,
      ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY t, seq) AS n
    FROM base
    WHERE
      NOT source IS NULL AND t >= 1792627200000000 AND t < 1795219200000000
  )
  WHERE
    n = 1
), chosen AS (
  SELECT
    own.user_id AS user_id,
    CASE
      WHEN own.source IS NULL AND NOT touch.seq IS NULL
      THEN touch.seq
      ELSE own.seq
    END AS seq,
    completed
  FROM entry_period AS entry
  LEFT JOIN done_period
    USING (user_id)
  JOIN base AS own
    ON own.user_id = entry.user_id AND own.seq = entry.seq
  LEFT JOIN touch
    ON touch.user_id = own.user_id
), visited AS (
  SELECT
    user_id,
    MAX(CASE WHEN t >= 1792627200000000 AND t < 1795219200000000 THEN 1 ELSE 0 END) AS seen,
    MAX(CASE WHEN t >= 1793491200000000 AND t < 1795219200000000 THEN 1 ELSE 0 END) AS this_month
  FROM base
  WHERE
    NOT user_id IS NULL
  GROUP BY
    user_id
)
SELECT
  'reached' AS figure,
  kind AS name,
  CAST(NULL AS STRING) AS detail,
  step AS k,
  COUNT(CASE WHEN latest0 >= 1792627200000000 THEN 1 END) AS n1,
  COUNT(CASE WHEN latest1 >= 1790035200000000 THEN 1 END) AS n2,
  COUNT(CASE WHEN latest2 >= 1790380800000000 THEN 1 END) AS n3
FROM (
  SELECT
    kind,
    step,
    user_id,
    MAX(CASE WHEN t < 1795219200000000 THEN v END) AS latest0,
    MAX(CASE WHEN t < 1792627200000000 THEN v END) AS latest1,
    MAX(CASE WHEN t < 1795219200000000 THEN v END) AS latest2
  FROM reach
  GROUP BY
    kind,
    step,
    user_id
)
GROUP BY
  kind,
  step
UNION ALL
SELECT
  'weekly' AS figure,
  NULL AS name,
  NULL AS detail,
  week AS k,
  COUNT(*) AS n1,
  COUNT(completed) AS n2,
  NULL AS n3
FROM (
  SELECT
    DIV((
      DIV((
        t + 0
      ), 86400000000) - 20722
    ), 7) AS week,
    completed
  FROM entry_weeks
  LEFT JOIN done_weeks
    USING (user_id)
)
GROUP BY
  week
UNION ALL
SELECT
  *
FROM (
  SELECT
    'breakdown' AS figure,
    COALESCE(e.source, '(direct)') AS name,
    COALESCE(e.medium, '(none)') AS detail,
    NULL AS k,
    COUNT(*) AS n1,
    COUNT(completed) AS n2,
    NULL AS n3
  FROM chosen
  JOIN base AS e
    USING (user_id, seq)
  GROUP BY
    2,
    3
  ORDER BY
    n1 DESC,
    name,
    detail
  LIMIT 10
)
UNION ALL
SELECT
  'traffic' AS figure,
  NULL AS name,
  NULL AS detail,
  NULL AS k,
  COUNT(CASE WHEN seen = 1 THEN 1 END) AS n1,
  (
    SELECT
      COUNT(*)
    FROM (
      SELECT DISTINCT
        user_id,
        session_id
      FROM base
      WHERE
        NOT user_id IS NULL
        AND NOT session_id IS NULL
        AND t >= 1792627200000000
        AND t < 1795219200000000
    )
  ) AS n2,
  COUNT(CASE WHEN this_month = 1 THEN 1 END) AS n3
FROM visited
UNION ALL
SELECT
  'visitors' AS figure,
  NULL AS name,
  NULL AS detail,
  (
    DIV((
      t + 0
    ), 86400000000) - 20748
  ) AS k,
  COUNT(DISTINCT user_id) AS n1,
  NULL AS n2,
  NULL AS n3
FROM base
WHERE
  NOT user_id IS NULL AND t >= 1792627200000000 AND t < 1795219200000000
GROUP BY
  4
UNION ALL
SELECT
  'signups' AS figure,
  NULL AS name,
  NULL AS detail,
  (
    DIV((
      t + 0
    ), 86400000000) - 20748
  ) AS k,
  COUNT(*) AS n1,
  NULL AS n2,
  NULL AS n3
FROM base
WHERE
  sign_up AND t >= 1792627200000000 AND t < 1795219200000000
GROUP BY
  4
