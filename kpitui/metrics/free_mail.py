"""Free-mail domains: an email there says nothing about the company, so a customer is never linked by one."""

FREE_MAIL = frozenset(
    """
    gmail.com googlemail.com yahoo.com yahoo.co.uk yahoo.fr yahoo.de yahoo.es yahoo.it yahoo.co.jp yahoo.com.br
    ymail.com rocketmail.com hotmail.com hotmail.co.uk hotmail.fr hotmail.de hotmail.it hotmail.es outlook.com
    outlook.fr outlook.de live.com live.co.uk live.fr msn.com aol.com icloud.com me.com mac.com proton.me
    protonmail.com pm.me gmx.com gmx.de gmx.net gmx.at web.de t-online.de freenet.de mail.com email.com
    mail.ru inbox.ru list.ru bk.ru yandex.ru yandex.com qq.com 163.com 126.com sina.com foxmail.com naver.com
    daum.net hanmail.net zoho.com fastmail.com fastmail.fm hey.com tutanota.com tuta.io orange.fr wanadoo.fr
    free.fr laposte.net sfr.fr libero.it virgilio.it tiscali.it btinternet.com sky.com virginmedia.com
    comcast.net verizon.net att.net sbcglobal.net bellsouth.net cox.net charter.net earthlink.net shaw.ca
    rogers.com sympatico.ca bigpond.com optusnet.com.au seznam.cz wp.pl o2.pl interia.pl onet.pl rediffmail.com
    """.split()
)
