"""Real user agents, as they arrive: people (in-app browsers of social apps among them) and bots
(crawlers, link previews, headless browsers, HTTP libraries) with the reason collector/bots.py
gives. One list for the classifier's tests (tests/unit/test_bots.py) and the browser visits
(tests/browser/test_real_visitors.py)."""

from __future__ import annotations

PEOPLE = {
    'Instagram (iOS)': 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) '
                       'Mobile/15E148 Instagram 334.0.4.32.98 (iPhone14,5; iOS 17_5; en_GB; en; scale=3.00; 1170x2532; '
                       '608936145)',
    'Instagram (Android)': 'Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 '
                           '(KHTML, like Gecko) Version/4.0 Chrome/126.0.6478.134 Mobile Safari/537.36 Instagram '
                           '337.0.0.35.102 Android (34/14; 480dpi; 1080x2115; samsung; SM-S918B; dm3q; qcom; en_GB; '
                           '614244493)',
    'Facebook (iOS)': 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) '
                      'Mobile/15E148 [FBAN/FBIOS;FBAV/468.0.0.49.109;FBBV/615240413;FBDV/iPhone14,5;FBMD/iPhone;'
                      'FBSN/iOS;FBSV/17.5;FBSS/3;FBID/phone;FBLC/en_GB;FBOP/5;FBRV/617094366]',
    'Facebook (Android)': 'Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A.240705.005; wv) AppleWebKit/537.36 '
                          '(KHTML, like Gecko) Version/4.0 Chrome/126.0.6478.134 Mobile Safari/537.36 '
                          '[FB_IAB/FB4A;FBAV/474.0.0.52.74;]',
    'Snapchat': 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) '
                'Mobile/15E148 Snapchat/13.12.0.36 (like Safari/8617.1.17.10.9, panda)',
    'TikTok': 'Mozilla/5.0 (Linux; Android 13; SM-S911B Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) '
              'Version/4.0 Chrome/125.0.6422.165 Mobile Safari/537.36 trill_350101 JsSdk/1.0 NetType/WIFI '
              'Channel/googleplay AppName/musical_ly app_version/35.1.1 ByteLocale/en BytedanceWebview/d8a21c6',
    'Pinterest': 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) '
                 'Mobile/15E148 [Pinterest/iOS]',
    'LinkedIn': 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) '
                'Mobile/15E148 [LinkedInApp]/9.29.6996',
    'Chrome': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 '
              'Safari/537.36',
    'Safari (iOS)': 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) '
                    'Version/18.1 Mobile/15E148 Safari/604.1',
    'Firefox': 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
}
BOTS = {
    'Googlebot': ('Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) '
                  'Chrome/126.0.6478.126 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
                  'crawler'),
    'Bingbot': ('Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; '
                '+http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36', 'crawler'),
    'AdsBot': ('Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) '
               'Chrome/126.0.6478.126 Mobile Safari/537.36 (compatible; AdsBot-Google-Mobile; '
               '+http://www.google.com/mobile/adsbot.html)', 'crawler'),
    'Facebook link preview': ('facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)', 'crawler'),
    'HeadlessChrome': ('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0.0.0 '
                       'Safari/537.36', 'headless'),
    'curl': ('curl/8.5.0', 'crawler'),
    'python-requests': ('python-requests/2.32.3', 'crawler'),
    'httpx': ('python-httpx/0.28.1', 'crawler'),
    'Go': ('Go-http-client/1.1', 'crawler'),
    'none': ('', 'no_user_agent'),
}
