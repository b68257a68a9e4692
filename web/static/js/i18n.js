// The message catalogue and the reader's language. Every piece of text the
// app shows goes through I18n.t, so a new language is one more catalogue.

const en = {
  'app.name': 'Parley',
  'app.loading': 'Loading…',
  'app.language': 'Language',
  'app.skipToContent': 'Skip to content',
  'app.version': 'Parley {version}',
  'app.loadFailed': 'Parley could not reach its server.',
  'app.retry': 'Try again',

  'auth.email': 'Email',
  'auth.password': 'Password',
  'auth.name': 'Name',
  'auth.invite': 'Invite code',
  'auth.passwordHint': 'Use 10 to 256 characters.',
  'auth.inviteHint': 'Signing up needs an invite. Ask an administrator for a code.',
  'auth.signIn.title': 'Sign in',
  'auth.signIn.intro': 'Welcome back to Parley.',
  'auth.signIn.submit': 'Sign in',
  'auth.signIn.noAccount': 'New to Parley?',
  'auth.signIn.toSignUp': 'Create account',
  'auth.signIn.closed': 'New accounts are created by an administrator.',
  'auth.signUp.title': 'Create account',
  'auth.signUp.intro': 'Create your Parley account.',
  'auth.signUp.submit': 'Create account',
  'auth.signUp.haveAccount': 'Already have an account?',
  'auth.signUp.toSignIn': 'Sign in',
  'auth.sessionEnded': 'Your session has ended. Please sign in again.',
  'auth.signedOut': 'You have signed out.',

  'validation.required': 'Fill in this field.',
  'validation.email': 'Enter an email address such as name@example.com.',
  'validation.passwordLength': 'Use 10 to 256 characters (this has {count}).',
  'validation.tooLong': 'Use at most {max} characters.',

  'error.network': 'Cannot reach the server. Check your connection and try again.',
  'error.rateLimited': 'Too many attempts. Wait {seconds} seconds and try again.',
  'error.rateLimitedOne': 'Too many attempts. Wait 1 second and try again.',
  'error.rateLimitedSoon': 'Too many attempts. Wait a moment and try again.',
  'error.unexpected': 'Something went wrong (error {status}). Try again.',
  'error.fixFields': 'Check the fields marked below.',

  'account.title': 'Account',
  'account.signedInAs': 'Signed in as {name} ({role})',
  'account.signOut': 'Sign out',
  'account.backToMessages': 'Back to messages',

  'role.admin': 'admin',
  'role.agent': 'agent',
  'role.expert': 'expert',
  'role.member': 'member',

  'sessions.title': 'Sessions',
  'sessions.intro': 'The browsers and devices signed in to your account.',
  'sessions.thisDevice': 'This device',
  'sessions.end': 'End session',
  'sessions.endConfirm': 'End this session? That device will be signed out.',
  'sessions.ended': 'Session ended.',
  'sessions.signedIn': 'Signed in {date}',
  'sessions.lastSeen': 'Last active {date}',
  'sessions.ip': 'IP address {ip}',
  'sessions.empty': 'No sessions.',
  'sessions.unknownDevice': 'Unknown device',
  'sessions.browserOn': '{browser} on {os}',

  'password.title': 'Change password',
  'password.current': 'Current password',
  'password.new': 'New password',
  'password.submit': 'Change password',
  'password.changed': 'Your password has been changed.',

  'tokens.title': 'API tokens',
  'tokens.intro': 'Tokens let scripts and integrations use the API as you. Keep them as safe as a password.',
  'tokens.name': 'Token name',
  'tokens.create': 'Create token',
  'tokens.created': 'Token “{name}” created. Copy it now: it will not be shown again.',
  'tokens.secret': 'New token',
  'tokens.copy': 'Copy',
  'tokens.copied': 'Copied',
  'tokens.copyFailed': 'Could not copy. Select the token and copy it yourself.',
  'tokens.done': 'Done',
  'tokens.empty': 'No tokens yet.',
  'tokens.revoke': 'Revoke',
  'tokens.revokeConfirm': 'Revoke the token “{name}”? Anything that uses it stops working.',
  'tokens.revoked': 'Token revoked.',
  'tokens.prefix': 'Starts with {prefix}',
  'tokens.createdAt': 'Created {date}',
  'tokens.lastUsed': 'Last used {date}',
  'tokens.neverUsed': 'Never used',
  'tokens.expires': 'Expires {date}',
  'tokens.noExpiry': 'Does not expire',

  'dialog.cancel': 'Cancel',

  'messenger.title': 'Messages',
  'messenger.pick': 'Choose a conversation, or start a new one with the + button.',

  'conversations.title': 'Conversations',
  'conversations.new': 'New conversation',
  'conversations.empty': 'No conversations yet. Start one with the + button.',
  'conversations.unread': '{count} unread messages',
  'conversations.unreadOne': '1 unread message',

  'conversation.notesToSelf': 'Notes to self',

  'notifications.enable': 'Turn on desktop notifications',

  'search.label': 'Search messages',
  'search.placeholder': 'Search messages',
  'search.clear': 'Clear search',
  'search.searching': 'Searching…',
  'search.none': 'No messages match.',
  'search.results': '{count} results for “{query}”',
  'search.resultsOne': '1 result for “{query}”',

  'thread.back': 'Back to conversations',
  'thread.messages': 'Message history',
  'thread.older': 'Show earlier messages',
  'thread.loading': 'Loading messages…',
  'thread.loadFailed': 'The messages could not be loaded.',
  'thread.empty': 'No messages yet. Say hello!',
  'thread.notFound': 'This conversation does not exist, or you are not in it.',
  'thread.members': '{count} members',
  'thread.membersOne': '1 member',
  'thread.notesToSelfHint': 'Only you can see this.',
  'thread.announce': '{name}: {text}',

  'presence.online': 'Online',
  'presence.away': 'Away',
  'presence.offline': 'Offline',
  'presence.lastSeen': 'Last seen {time}',

  'call.voice': 'Start voice call',
  'call.video': 'Start video call',
  'call.help': 'Start help call',
  'call.helpAsHelper': 'Help them (see their screen)',
  'call.helpAsCustomer': 'Ask for help (share my screen)',
  'call.incoming.voice': 'Incoming voice call',
  'call.incoming.video': 'Incoming video call',
  'call.incoming.help': 'Incoming help call',
  'call.isCalling': '{name} is calling you.',
  'call.wantsToHelp': '{name} would like to help you. You can share your screen; your camera stays off.',
  'call.wantsHelp': '{name} is asking for your help. You will see the screen they share.',
  'call.accept': 'Accept',
  'call.decline': 'Decline',
  'call.title': 'Call with {name}',
  'call.helpTitle': 'Help call with {name}',
  'call.calling': 'Calling…',
  'call.connecting': 'Connecting…',
  'call.reconnecting': 'Reconnecting…',
  'call.inCall': 'In call · {time}',
  'call.ended': 'Call ended',
  'call.controls': 'Call controls',
  'call.mute': 'Mute',
  'call.camera': 'Camera',
  'call.shareScreen': 'Share screen',
  'call.pauseSharing': 'Pause sharing',
  'call.end': 'End call',
  'call.devices': 'Devices',
  'call.microphone': 'Microphone',
  'call.cameraDevice': 'Camera',
  'call.quality.good': 'Connection: good',
  'call.quality.fair': 'Connection: fair',
  'call.quality.poor': 'Connection: poor',
  'call.quality.unknown': 'Connection: checking',
  'call.you': 'You',
  'call.yourScreen': 'Your screen',
  'call.screenOf': '{name} · screen',
  'call.paused': 'Sharing paused',
  'call.speaking': 'speaking',
  'call.muted': 'Muted',
  'call.tools': 'Drawing tools',
  'call.pen': 'Pen',
  'call.pointer': 'Pointer',
  'call.colour': 'Colour',
  'call.colour.red': 'Red',
  'call.colour.yellow': 'Yellow',
  'call.colour.green': 'Green',
  'call.colour.blue': 'Blue',
  'call.undo': 'Undo',
  'call.clear': 'Clear',
  'call.drawings': 'Drawings over the shared screen',
  'call.waitingScreen': 'Waiting for {name} to share their screen.',
  'call.shareHint': 'Share your screen so that {name} can see it and point things out.',
  'call.noDevices': 'Your microphone or camera could not be used; others can still hear and see what they share.',
  'call.failed': 'The call could not be joined: {reason}',
  'call.shareFailed': 'The screen could not be shared.',
  'call.elsewhere': 'You are already in a call. End it first.',

  'composer.label': 'Message',
  'composer.formLabel': 'Write a message',
  'composer.placeholder': 'Write a message…',
  'composer.hint': 'Enter sends; Shift+Enter starts a new line.',
  'composer.send': 'Send',
  'composer.attach': 'Attach files',
  'composer.drop': 'Drop files to attach them',
  'composer.removeFile': 'Remove {name}',
  'composer.uploading': 'Uploading…',
  'composer.waitForUploads': 'Wait until the files have finished uploading.',
  'composer.tooManyFiles': 'A message can carry at most {max} files.',
  'composer.tooLong': 'This message is too long. Split it into several.',
  'composer.emptyEdit': 'A message cannot be empty. Delete it instead.',
  'composer.editing': 'Editing your message',
  'composer.replyingTo': 'Replying to {name}',
  'composer.cancelReply': 'Cancel reply',
  'composer.cancelEdit': 'Cancel editing',

  'message.you': 'You',
  'message.someone': 'Someone',
  'message.deleted': 'This message was deleted.',
  'message.edited': '(edited)',
  'message.replyTo': 'In reply to',
  'message.replyToEarlier': 'In reply to an earlier message',
  'message.actions': 'Message actions',
  'message.reply': 'Reply',
  'message.edit': 'Edit',
  'message.delete': 'Delete',
  'message.deleteConfirm': 'Delete this message for everyone?',

  'reaction.add': 'React with {emoji}',
  'reaction.list': 'Reactions',
  'reaction.summary': '{emoji} {count}: {names}',

  'receipt.sent': 'Sent',
  'receipt.seen': 'Seen',
  'receipt.seenByAll': 'Seen by everyone',
  'receipt.seenBy': 'Seen by {names}',

  'typing.one': '{name} is typing…',
  'typing.two': '{first} and {second} are typing…',
  'typing.many': 'Several people are typing…',
  'typing.short': 'typing…',

  'preview.mine': 'You: {text}',
  'preview.photo': 'Photo',
  'preview.file': 'File: {name}',
  'preview.files': '{count} files',

  'attachment.open': 'Open {name}',

  'outbox.waiting': 'Waiting for the connection…',
  'outbox.sending': 'Sending…',
  'outbox.failed': 'Not sent: {reason}',
  'outbox.retry': 'Try again',
  'outbox.discard': 'Discard',

  'connection.reconnecting': 'Reconnecting…',
  'connection.connecting': 'Connecting…',
  'connection.outboxHint': 'Messages you send now go out once the connection is back.',

  'newConversation.title': 'New conversation',
  'newConversation.search': 'Find people',
  'newConversation.searchPlaceholder': 'Name or email address',
  'newConversation.results': 'People found',
  'newConversation.chosen': 'Chosen',
  'newConversation.none': 'Nobody found.',
  'newConversation.found': '{count} people found.',
  'newConversation.foundOne': '1 person found.',
  'newConversation.groupTitle': 'Group name',
  'newConversation.start': 'Start chat',
  'newConversation.createGroup': 'Create group',
  'newConversation.pickSomeone': 'Choose someone to talk to.',
  'newConversation.nameGroup': 'Give the group a name.',
  'newConversation.remove': 'Remove {name}',

  'menu.messages': 'Messages',
  'menu.account': 'Account',

  'day.today': 'Today',
  'day.yesterday': 'Yesterday',

  // The help desk: the widget and kiosk (help.*), the agent console and the manager's screens (desk.*).
  'menu.desk': 'Help desk',
  'help.button': 'Help',
  'help.closed': 'Closed',
  'help.closedCallback': 'Closed — request a callback',
  'help.title': 'Help',
  'help.callbackTitle': 'Request a callback',
  'help.callbackBooked': 'Thank you. We will call you back when we are open.',
  'help.opening': 'Asking for help…',
  'help.rateTitle': 'How did we do?',
  'help.rateQuestion': 'Rate your session from 1 to 5',
  'help.stars': '{score} of 5',
  'help.comment': 'Comment (optional)',
  'help.sendRating': 'Send rating',
  'help.thanks': 'Thank you for your feedback.',
  'help.close': 'Close',
  'help.name': 'Your name',
  'help.start': 'Ask for help',
  'help.cancel': 'Cancel',
  'help.nextOpen': 'We open again {time}.',
  'help.contact': 'Phone number or email',
  'help.when': 'Preferred time (optional)',
  'help.book': 'Request callback',
  'help.connecting': 'An agent is about to answer…',
  'help.position': 'You are number {position} in line.',
  'help.waiting': 'Waiting for an agent…',
  'help.waitUnderMinute': 'Estimated wait: less than a minute',
  'help.waitMinutes': 'Estimated wait: about {minutes} min',
  'help.networkError': 'Cannot reach the help desk. Try again.',
  'help.queueClosed': 'Nobody can answer right now.',
  'help.notAnswered': 'Nobody could answer this time. Please try again later.',
  'help.callFailed': 'The call could not connect.',
  'help.shareScreen': 'Share screen',
  'help.stopSharing': 'Stop sharing',
  'help.shareFailed': 'Your screen could not be shared.',
  'help.mute': 'Mute',
  'help.unmute': 'Unmute',
  'help.end': 'End',
  'help.chat': 'Chat',
  'help.chatPlaceholder': 'Type a message',
  'help.send': 'Send',
  'help.connectingCall': 'Connecting…',
  'help.connected': 'Connected',
  'help.reconnecting': 'Reconnecting…',
  'help.withAgent': 'Help from {name}',
  'help.agent': 'Agent',
  'help.you': 'You',
  'help.yourScreen': 'Your screen',
  'help.drawings': 'The agent’s drawings on your screen',
  'help.channelQuestion': 'How would you like help?',
  'help.channel.video': 'Video call',
  'help.channel.voice': 'Voice call',
  'help.channel.chat': 'Chat',
  'help.channelNote.video': 'You see the agent; you can share your screen.',
  'help.channelNote.voice': 'Talk with the agent; you can share your screen.',
  'help.channelNote.chat': 'Write to the agent; no call.',
  'help.chatOnly': 'Chat with the agent',
  'help.transferring': 'Transferring you to another agent… stay here.',
  'kiosk.title': 'Need help?',
  'kiosk.noQueue': 'This kiosk has no help queue set up.',
  'desk.title': 'Help desk',
  'desk.notAgent': 'You are not a help desk agent. Ask a desk manager to add you.',
  'desk.manage': 'Manage',
  'desk.status': 'Status',
  'desk.status.available': 'Available',
  'desk.status.busy': 'In a session',
  'desk.status.wrapup': 'Wrapping up',
  'desk.status.away': 'Away',
  'desk.status.offline': 'Offline',
  'desk.status.waiting': 'Waiting',
  'desk.status.offered': 'Ringing',
  'desk.status.active': 'In session',
  'desk.status.ended': 'Ended',
  'desk.status.abandoned': 'Abandoned',
  'desk.status.callback': 'Callback',
  'desk.reconnecting': 'Reconnecting…',
  'desk.guest': 'Guest',
  'desk.guestBadge': 'Guest',
  'desk.member': 'Member',
  'desk.verified': 'Verified',
  'desk.forged': 'Not verified: the site’s signature did not match',
  'desk.queue': 'Queue',
  'desk.location': 'Location',
  'desk.page': 'Page',
  'desk.device': 'Device',
  'desk.channel': 'Channel',
  'desk.history': 'Previous requests ({count})',
  'desk.accept': 'Accept',
  'desk.decline': 'Decline',
  'desk.seconds': '{seconds} s',
  'desk.offerGone': 'That request was taken by someone else or ran out.',
  'desk.waitingForCustomers': 'You are available. Offers will ring here.',
  'desk.goAvailable': 'Set your status to Available to receive customers.',
  'desk.chooseCode': 'Choose…',
  'desk.code': 'Reason',
  'desk.code.resolved': 'Resolved',
  'desk.code.follow-up': 'Needs follow-up',
  'desk.code.not-resolved': 'Not resolved',
  'desk.code.other': 'Other',
  'desk.notes': 'Notes',
  'desk.wrapUpTitle': 'Wrap up the session with {name}',
  'desk.finishWrapUp': 'Finish wrap-up',
  'desk.pen': 'Pen',
  'desk.pointer': 'Pointer',
  'desk.colour': 'Colour',
  'desk.colour.0': 'Red',
  'desk.colour.1': 'Yellow',
  'desk.colour.2': 'Green',
  'desk.colour.3': 'Blue',
  'desk.colour.4': 'White',
  'desk.undo': 'Undo',
  'desk.clear': 'Clear',
  'desk.tools': 'Drawing tools',
  'desk.chatLabel': 'Message to the customer',
  'desk.send': 'Send',
  'desk.saveNotes': 'Save notes',
  'desk.end': 'End session',
  'desk.sessionWith': 'Session with {name}',
  'desk.noScreen': 'The customer has not shared a screen yet.',
  'desk.screenPaused': 'Screen paused',
  'desk.drawings': 'Drawings on the customer’s screen',
  'desk.chat': 'Chat',
  'desk.privateNotes': 'Private notes',
  'desk.you': 'You',
  'desk.manageTitle': 'Help desk: manage',
  'desk.backToConsole': 'Back to the console',
  'desk.wallboard': 'Wallboard',
  'desk.open': 'Open',
  'desk.closed': 'Closed',
  'desk.waitingNow': 'Waiting',
  'desk.longestWait': 'Longest wait',
  'desk.answeredToday': 'Answered today',
  'desk.serviceLevel': 'Service level',
  'desk.noAgents': 'No agents',
  'desk.report': 'Report',
  'desk.from': 'From',
  'desk.to': 'To',
  'desk.showReport': 'Show',
  'desk.downloadCsv': 'Download CSV',
  'desk.date': 'Date',
  'desk.offered': 'Offered',
  'desk.answered': 'Answered',
  'desk.abandoned': 'Abandoned',
  'desk.asa': 'Avg. speed of answer',
  'desk.aht': 'Avg. handle time',
  'desk.csat': 'CSAT',
  'desk.ratings': 'Ratings',
  'desk.staffing': 'Staffing (Erlang C)',
  'desk.callsPerHour': 'Calls per hour',
  'desk.handleSeconds': 'Handle time (s)',
  'desk.targetLevel': 'Target service level (%)',
  'desk.answerSeconds': 'Answered within (s)',
  'desk.calculate': 'Calculate',
  'desk.staffingResult': '{agents} agents: service level {level}, occupancy {occupancy}, average speed of answer {asa}.',
  'desk.newQueue': 'New queue',
  'desk.queueKey': 'Key',
  'desk.queueName': 'Name',
  'desk.timeZone': 'Time zone',
  'desk.opens': 'Opens',
  'desk.closes': 'Closes',
  'desk.origins': 'Allowed origins',
  'desk.addQueue': 'Add queue',
  'desk.agents': 'Agents',
  'desk.agent': 'Agent',
  'desk.userId': 'User id',
  'desk.agentQueues': 'Queues',
  'desk.managerFlag': 'Manager',
  'desk.saveAgent': 'Save agent',
  'desk.contact': 'Contact',
  'desk.channel.video': 'Video',
  'desk.channel.voice': 'Voice',
  'desk.channel.chat': 'Chat',
  'desk.kind.video': 'Video call',
  'desk.kind.voice': 'Voice call',
  'desk.kind.chat': 'Chat',
  'desk.kind.callback': 'Callback',
  'desk.callbackBadge': 'Callback',
  'desk.transferBadge': 'Transferred',
  'desk.callbackHint': 'Call back: {contact}',
  'desk.callbackAt': 'preferred {time}',
  'desk.callbackWhen': 'Preferred time',
  'desk.callbackExplain': 'The customer booked a callback and is not online. Call them back, write what happened in the notes, then end the session.',
  'desk.chatOnly': 'A chat: no call.',
  'desk.voiceOnly': 'A voice call: nobody sends a camera.',
  'desk.otherAgent': 'Agent',
  'desk.transfer': 'Transfer…',
  'desk.transferTitle': 'Transfer the session',
  'desk.transferTo': 'To',
  'desk.transferToQueue': 'Another queue',
  'desk.transferToAgent': 'An agent',
  'desk.transferQueueOnly': 'Only desk managers can transfer to a named agent.',
  'desk.transferHow': 'How',
  'desk.transferCold': 'Cold: leave the session now',
  'desk.transferWarm': 'Warm: stay until the next agent accepts',
  'desk.transferNow': 'Transfer',
  'desk.cancel': 'Cancel',
  'desk.transferring': 'Transferring… (you stay until they accept)',
  'desk.agentUnavailable': 'That agent cannot take it now: they are not available, or another customer is ringing for them. Choose someone else or a queue.',
  'desk.transferWrongState': 'This session cannot be transferred now.',
  'desk.transferredTitle': '{name} was transferred',
  'desk.transferredText': 'The session goes on with another agent; your notes went with it.',
  'desk.customerLeftTitle': '{name} left',
  'desk.customerLeft': 'The customer gave up before the transfer was answered.',
  'desk.ready': 'Ready for the next customer',
  'desk.webhooks': 'Webhooks',
  'desk.webhookUrl': 'URL',
  'desk.webhookEvents': 'Events',
  'desk.addWebhook': 'Add webhook',
  'desk.noWebhooks': 'No webhooks yet.',
  'desk.webhookSecret': 'The signing secret of {url}. Copy it now: it is not shown again.',
  'desk.webhookCreated': 'Created',
  'desk.deleteWebhook': 'Delete',
  'desk.keepWebhook': 'Keep',
  'desk.deleteWebhookConfirm': 'Delete the webhook {url} and its delivery log?',
  'desk.deliveries': 'Delivery log',
  'desk.hideDeliveries': 'Hide delivery log',
  'desk.refresh': 'Refresh',
  'desk.noDeliveries': 'Nothing sent yet.',
  'desk.deliveryEvent': 'Event',
  'desk.deliveryState': 'State',
  'desk.deliveryAttempts': 'Attempts',
  'desk.deliveryResult': 'Last result',
  'desk.deliveryAt': 'Queued',
  'desk.deliveryNext': 'Next attempt',
  'desk.delivery.pending': 'Pending',
  'desk.delivery.retrying': 'Failed, will retry',
  'desk.delivery.delivered': 'Delivered',
  'desk.delivery.failed': 'Failed',
  'desk.channels': 'Channels',
};

/** @typedef {keyof typeof en} MessageKey */

/** @type {Record<MessageKey, string>} */
const ko = {
  'app.name': 'Parley',
  'app.loading': '불러오는 중…',
  'app.language': '언어',
  'app.skipToContent': '본문으로 건너뛰기',
  'app.version': 'Parley {version}',
  'app.loadFailed': 'Parley 서버에 연결할 수 없습니다.',
  'app.retry': '다시 시도',

  'auth.email': '이메일',
  'auth.password': '비밀번호',
  'auth.name': '이름',
  'auth.invite': '초대 코드',
  'auth.passwordHint': '10자 이상 256자 이하로 입력하세요.',
  'auth.inviteHint': '가입하려면 초대 코드가 필요합니다. 관리자에게 코드를 요청하세요.',
  'auth.signIn.title': '로그인',
  'auth.signIn.intro': 'Parley에 다시 오신 것을 환영합니다.',
  'auth.signIn.submit': '로그인',
  'auth.signIn.noAccount': 'Parley가 처음이신가요?',
  'auth.signIn.toSignUp': '계정 만들기',
  'auth.signIn.closed': '새 계정은 관리자가 만듭니다.',
  'auth.signUp.title': '계정 만들기',
  'auth.signUp.intro': 'Parley 계정을 만드세요.',
  'auth.signUp.submit': '계정 만들기',
  'auth.signUp.haveAccount': '이미 계정이 있으신가요?',
  'auth.signUp.toSignIn': '로그인',
  'auth.sessionEnded': '세션이 종료되었습니다. 다시 로그인하세요.',
  'auth.signedOut': '로그아웃했습니다.',

  'validation.required': '이 항목을 입력하세요.',
  'validation.email': 'name@example.com 형식의 이메일 주소를 입력하세요.',
  'validation.passwordLength': '10자 이상 256자 이하로 입력하세요(현재 {count}자).',
  'validation.tooLong': '{max}자 이하로 입력하세요.',

  'error.network': '서버에 연결할 수 없습니다. 네트워크 연결을 확인한 뒤 다시 시도하세요.',
  'error.rateLimited': '시도 횟수가 너무 많습니다. {seconds}초 후에 다시 시도하세요.',
  'error.rateLimitedOne': '시도 횟수가 너무 많습니다. 1초 후에 다시 시도하세요.',
  'error.rateLimitedSoon': '시도 횟수가 너무 많습니다. 잠시 후에 다시 시도하세요.',
  'error.unexpected': '문제가 발생했습니다(오류 {status}). 다시 시도하세요.',
  'error.fixFields': '아래 표시된 항목을 확인하세요.',

  'account.title': '계정',
  'account.signedInAs': '{name}({role}) 계정으로 로그인되어 있습니다',
  'account.signOut': '로그아웃',
  'account.backToMessages': '메시지로 돌아가기',

  'role.admin': '관리자',
  'role.agent': '상담원',
  'role.expert': '전문가',
  'role.member': '회원',

  'sessions.title': '세션',
  'sessions.intro': '내 계정에 로그인된 브라우저와 기기입니다.',
  'sessions.thisDevice': '현재 기기',
  'sessions.end': '세션 종료',
  'sessions.endConfirm': '이 세션을 종료할까요? 해당 기기에서 로그아웃됩니다.',
  'sessions.ended': '세션을 종료했습니다.',
  'sessions.signedIn': '로그인 {date}',
  'sessions.lastSeen': '마지막 활동 {date}',
  'sessions.ip': 'IP 주소 {ip}',
  'sessions.empty': '세션이 없습니다.',
  'sessions.unknownDevice': '알 수 없는 기기',
  'sessions.browserOn': '{os}의 {browser}',

  'password.title': '비밀번호 변경',
  'password.current': '현재 비밀번호',
  'password.new': '새 비밀번호',
  'password.submit': '비밀번호 변경',
  'password.changed': '비밀번호를 변경했습니다.',

  'tokens.title': 'API 토큰',
  'tokens.intro': '토큰을 사용하면 스크립트와 연동 서비스가 내 권한으로 API를 사용할 수 있습니다. 비밀번호처럼 안전하게 보관하세요.',
  'tokens.name': '토큰 이름',
  'tokens.create': '토큰 만들기',
  'tokens.created': '토큰 “{name}”을(를) 만들었습니다. 지금 복사하세요. 다시 표시되지 않습니다.',
  'tokens.secret': '새 토큰',
  'tokens.copy': '복사',
  'tokens.copied': '복사됨',
  'tokens.copyFailed': '복사하지 못했습니다. 토큰을 선택해 직접 복사하세요.',
  'tokens.done': '완료',
  'tokens.empty': '아직 토큰이 없습니다.',
  'tokens.revoke': '폐기',
  'tokens.revokeConfirm': '토큰 “{name}”을(를) 폐기할까요? 이 토큰을 사용하는 곳은 모두 작동을 멈춥니다.',
  'tokens.revoked': '토큰을 폐기했습니다.',
  'tokens.prefix': '{prefix}(으)로 시작',
  'tokens.createdAt': '생성 {date}',
  'tokens.lastUsed': '마지막 사용 {date}',
  'tokens.neverUsed': '사용한 적 없음',
  'tokens.expires': '만료 {date}',
  'tokens.noExpiry': '만료 없음',

  'dialog.cancel': '취소',

  'messenger.title': '메시지',
  'messenger.pick': '대화를 고르거나 + 버튼으로 새 대화를 시작하세요.',

  'conversations.title': '대화',
  'conversations.new': '새 대화',
  'conversations.empty': '아직 대화가 없습니다. + 버튼으로 대화를 시작하세요.',
  'conversations.unread': '읽지 않은 메시지 {count}개',
  'conversations.unreadOne': '읽지 않은 메시지 1개',

  'conversation.notesToSelf': '나에게 쓰는 메모',

  'notifications.enable': '데스크톱 알림 켜기',

  'search.label': '메시지 검색',
  'search.placeholder': '메시지 검색',
  'search.clear': '검색 지우기',
  'search.searching': '검색 중…',
  'search.none': '일치하는 메시지가 없습니다.',
  'search.results': '“{query}” 검색 결과 {count}개',
  'search.resultsOne': '“{query}” 검색 결과 1개',

  'thread.back': '대화 목록으로 돌아가기',
  'thread.messages': '메시지 기록',
  'thread.older': '이전 메시지 보기',
  'thread.loading': '메시지를 불러오는 중…',
  'thread.loadFailed': '메시지를 불러오지 못했습니다.',
  'thread.empty': '아직 메시지가 없습니다. 먼저 인사해 보세요!',
  'thread.notFound': '없는 대화이거나 참여하지 않은 대화입니다.',
  'thread.members': '멤버 {count}명',
  'thread.membersOne': '멤버 1명',
  'thread.notesToSelfHint': '나만 볼 수 있습니다.',
  'thread.announce': '{name}: {text}',

  'presence.online': '온라인',
  'presence.away': '자리 비움',
  'presence.offline': '오프라인',
  'presence.lastSeen': '마지막 접속 {time}',

  'call.voice': '음성 통화 시작',
  'call.video': '영상 통화 시작',
  'call.help': '도움 통화 시작',
  'call.helpAsHelper': '도와주기 (상대 화면 보기)',
  'call.helpAsCustomer': '도움 요청 (내 화면 공유)',
  'call.incoming.voice': '음성 통화 수신',
  'call.incoming.video': '영상 통화 수신',
  'call.incoming.help': '도움 통화 수신',
  'call.isCalling': '{name} 님의 전화입니다.',
  'call.wantsToHelp': '{name} 님이 도와드리려고 합니다. 화면을 공유할 수 있으며 카메라는 켜지지 않습니다.',
  'call.wantsHelp': '{name} 님이 도움을 요청합니다. 상대가 공유하는 화면을 보게 됩니다.',
  'call.accept': '수락',
  'call.decline': '거절',
  'call.title': '{name} 님과 통화',
  'call.helpTitle': '{name} 님과 도움 통화',
  'call.calling': '연결 중…',
  'call.connecting': '접속 중…',
  'call.reconnecting': '다시 연결하는 중…',
  'call.inCall': '통화 중 · {time}',
  'call.ended': '통화 종료됨',
  'call.controls': '통화 제어',
  'call.mute': '음소거',
  'call.camera': '카메라',
  'call.shareScreen': '화면 공유',
  'call.pauseSharing': '공유 일시중지',
  'call.end': '통화 종료',
  'call.devices': '장치',
  'call.microphone': '마이크',
  'call.cameraDevice': '카메라',
  'call.quality.good': '연결 상태: 좋음',
  'call.quality.fair': '연결 상태: 보통',
  'call.quality.poor': '연결 상태: 나쁨',
  'call.quality.unknown': '연결 상태: 확인 중',
  'call.you': '나',
  'call.yourScreen': '내 화면',
  'call.screenOf': '{name} · 화면',
  'call.paused': '공유 일시중지됨',
  'call.speaking': '말하는 중',
  'call.muted': '음소거됨',
  'call.tools': '그리기 도구',
  'call.pen': '펜',
  'call.pointer': '포인터',
  'call.colour': '색상',
  'call.colour.red': '빨강',
  'call.colour.yellow': '노랑',
  'call.colour.green': '초록',
  'call.colour.blue': '파랑',
  'call.undo': '실행 취소',
  'call.clear': '모두 지우기',
  'call.drawings': '공유 화면 위의 그림',
  'call.waitingScreen': '{name} 님이 화면을 공유하기를 기다리는 중입니다.',
  'call.shareHint': '화면을 공유하면 {name} 님이 보고 짚어 드릴 수 있습니다.',
  'call.noDevices': '마이크나 카메라를 사용할 수 없습니다. 다른 사람이 공유하는 것은 계속 보고 들을 수 있습니다.',
  'call.failed': '통화에 참여하지 못했습니다: {reason}',
  'call.shareFailed': '화면을 공유하지 못했습니다.',
  'call.elsewhere': '이미 통화 중입니다. 먼저 통화를 종료하세요.',

  'composer.label': '메시지',
  'composer.formLabel': '메시지 작성',
  'composer.placeholder': '메시지를 입력하세요…',
  'composer.hint': 'Enter 키로 보내고 Shift+Enter 키로 줄을 바꿉니다.',
  'composer.send': '보내기',
  'composer.attach': '파일 첨부',
  'composer.drop': '파일을 여기에 놓으면 첨부됩니다',
  'composer.removeFile': '{name} 첨부 취소',
  'composer.uploading': '올리는 중…',
  'composer.waitForUploads': '파일을 다 올릴 때까지 기다려 주세요.',
  'composer.tooManyFiles': '메시지 하나에 파일을 {max}개까지 첨부할 수 있습니다.',
  'composer.tooLong': '메시지가 너무 깁니다. 여러 개로 나누어 보내세요.',
  'composer.emptyEdit': '메시지를 비울 수는 없습니다. 대신 삭제하세요.',
  'composer.editing': '메시지 수정 중',
  'composer.replyingTo': '답장 대상: {name}',
  'composer.cancelReply': '답장 취소',
  'composer.cancelEdit': '수정 취소',

  'message.you': '나',
  'message.someone': '알 수 없는 사용자',
  'message.deleted': '삭제된 메시지입니다.',
  'message.edited': '(수정됨)',
  'message.replyTo': '답장 대상',
  'message.replyToEarlier': '이전 메시지에 대한 답장',
  'message.actions': '메시지 메뉴',
  'message.reply': '답장',
  'message.edit': '수정',
  'message.delete': '삭제',
  'message.deleteConfirm': '이 메시지를 모두에게서 삭제할까요?',

  'reaction.add': '{emoji} 반응 남기기',
  'reaction.list': '반응',
  'reaction.summary': '{emoji} {count}: {names}',

  'receipt.sent': '전송됨',
  'receipt.seen': '읽음',
  'receipt.seenByAll': '모두 읽음',
  'receipt.seenBy': '{names} 님이 읽음',

  'typing.one': '{name} 님이 입력 중…',
  'typing.two': '{first} 님과 {second} 님이 입력 중…',
  'typing.many': '여러 명이 입력 중…',
  'typing.short': '입력 중…',

  'preview.mine': '나: {text}',
  'preview.photo': '사진',
  'preview.file': '파일: {name}',
  'preview.files': '파일 {count}개',

  'attachment.open': '{name} 열기',

  'outbox.waiting': '연결을 기다리는 중…',
  'outbox.sending': '보내는 중…',
  'outbox.failed': '보내지 못했습니다: {reason}',
  'outbox.retry': '다시 시도',
  'outbox.discard': '버리기',

  'connection.reconnecting': '다시 연결하는 중…',
  'connection.connecting': '연결하는 중…',
  'connection.outboxHint': '지금 보내는 메시지는 연결이 돌아오면 전송됩니다.',

  'newConversation.title': '새 대화',
  'newConversation.search': '사람 찾기',
  'newConversation.searchPlaceholder': '이름 또는 이메일 주소',
  'newConversation.results': '검색된 사람',
  'newConversation.chosen': '선택한 사람',
  'newConversation.none': '찾은 사람이 없습니다.',
  'newConversation.found': '{count}명을 찾았습니다.',
  'newConversation.foundOne': '1명을 찾았습니다.',
  'newConversation.groupTitle': '그룹 이름',
  'newConversation.start': '대화 시작',
  'newConversation.createGroup': '그룹 만들기',
  'newConversation.pickSomeone': '대화할 사람을 선택하세요.',
  'newConversation.nameGroup': '그룹 이름을 입력하세요.',
  'newConversation.remove': '{name} 빼기',

  'menu.messages': '메시지',
  'menu.account': '계정',

  'day.today': '오늘',
  'day.yesterday': '어제',

  // 헬프데스크: 위젯과 키오스크(help.*), 상담원 콘솔과 관리자 화면(desk.*).
  'menu.desk': '헬프데스크',
  'help.button': '도움말',
  'help.closed': '운영 시간 아님',
  'help.closedCallback': '운영 시간 아님 — 전화 예약하기',
  'help.title': '도움 요청',
  'help.callbackTitle': '전화 예약',
  'help.callbackBooked': '감사합니다. 운영 시간에 다시 연락드리겠습니다.',
  'help.opening': '도움을 요청하는 중…',
  'help.rateTitle': '상담은 어떠셨나요?',
  'help.rateQuestion': '상담을 1점부터 5점까지 평가해 주세요',
  'help.stars': '5점 중 {score}점',
  'help.comment': '의견(선택)',
  'help.sendRating': '평가 보내기',
  'help.thanks': '의견을 보내 주셔서 감사합니다.',
  'help.close': '닫기',
  'help.name': '이름',
  'help.start': '도움 요청하기',
  'help.cancel': '취소',
  'help.nextOpen': '{time}에 다시 엽니다.',
  'help.contact': '전화번호 또는 이메일',
  'help.when': '원하는 시간(선택)',
  'help.book': '전화 예약하기',
  'help.connecting': '곧 상담원이 응답합니다…',
  'help.position': '대기 순서: {position}번째',
  'help.waiting': '상담원을 기다리는 중…',
  'help.waitUnderMinute': '예상 대기 시간: 1분 미만',
  'help.waitMinutes': '예상 대기 시간: 약 {minutes}분',
  'help.networkError': '헬프데스크에 연결할 수 없습니다. 다시 시도해 주세요.',
  'help.queueClosed': '지금은 응답할 수 있는 상담원이 없습니다.',
  'help.notAnswered': '이번에는 응답할 상담원이 없었습니다. 나중에 다시 시도해 주세요.',
  'help.callFailed': '통화를 연결하지 못했습니다.',
  'help.shareScreen': '화면 공유',
  'help.stopSharing': '공유 중지',
  'help.shareFailed': '화면을 공유하지 못했습니다.',
  'help.mute': '음소거',
  'help.unmute': '음소거 해제',
  'help.end': '종료',
  'help.chat': '채팅',
  'help.chatPlaceholder': '메시지 입력',
  'help.send': '보내기',
  'help.connectingCall': '연결하는 중…',
  'help.connected': '연결됨',
  'help.reconnecting': '다시 연결하는 중…',
  'help.withAgent': '{name} 상담원',
  'help.agent': '상담원',
  'help.you': '나',
  'help.yourScreen': '내 화면',
  'help.drawings': '내 화면 위 상담원의 그림',
  'help.channelQuestion': '어떤 방법으로 도움을 받으시겠어요?',
  'help.channel.video': '영상 통화',
  'help.channel.voice': '음성 통화',
  'help.channel.chat': '채팅',
  'help.channelNote.video': '상담원이 보이며, 내 화면을 공유할 수 있습니다.',
  'help.channelNote.voice': '상담원과 대화하며, 내 화면을 공유할 수 있습니다.',
  'help.channelNote.chat': '상담원에게 글로 문의합니다. 통화는 없습니다.',
  'help.chatOnly': '상담원과 채팅 중',
  'help.transferring': '다른 상담원에게 연결하는 중입니다… 잠시만 기다려 주세요.',
  'kiosk.title': '도움이 필요하신가요?',
  'kiosk.noQueue': '이 키오스크에는 상담 대기열이 설정되지 않았습니다.',
  'desk.title': '헬프데스크',
  'desk.notAgent': '헬프데스크 상담원이 아닙니다. 데스크 관리자에게 추가를 요청하세요.',
  'desk.manage': '관리',
  'desk.status': '상태',
  'desk.status.available': '상담 가능',
  'desk.status.busy': '상담 중',
  'desk.status.wrapup': '마무리 중',
  'desk.status.away': '자리 비움',
  'desk.status.offline': '오프라인',
  'desk.status.waiting': '대기 중',
  'desk.status.offered': '연결 중',
  'desk.status.active': '상담 중',
  'desk.status.ended': '종료',
  'desk.status.abandoned': '포기',
  'desk.status.callback': '전화 예약',
  'desk.reconnecting': '다시 연결하는 중…',
  'desk.guest': '손님',
  'desk.guestBadge': '손님',
  'desk.member': '회원',
  'desk.verified': '인증됨',
  'desk.forged': '인증 안 됨: 사이트 서명이 일치하지 않습니다',
  'desk.queue': '대기열',
  'desk.location': '위치',
  'desk.page': '페이지',
  'desk.device': '기기',
  'desk.channel': '채널',
  'desk.history': '이전 요청 ({count})',
  'desk.accept': '수락',
  'desk.decline': '거절',
  'desk.seconds': '{seconds}초',
  'desk.offerGone': '다른 상담원이 받았거나 시간이 지난 요청입니다.',
  'desk.waitingForCustomers': '상담 가능 상태입니다. 요청이 여기에 울립니다.',
  'desk.goAvailable': '고객을 받으려면 상태를 상담 가능으로 바꾸세요.',
  'desk.chooseCode': '선택…',
  'desk.code': '사유',
  'desk.code.resolved': '해결됨',
  'desk.code.follow-up': '후속 조치 필요',
  'desk.code.not-resolved': '해결 안 됨',
  'desk.code.other': '기타',
  'desk.notes': '메모',
  'desk.wrapUpTitle': '{name} 님과의 상담 마무리',
  'desk.finishWrapUp': '마무리 완료',
  'desk.pen': '펜',
  'desk.pointer': '포인터',
  'desk.colour': '색',
  'desk.colour.0': '빨강',
  'desk.colour.1': '노랑',
  'desk.colour.2': '초록',
  'desk.colour.3': '파랑',
  'desk.colour.4': '흰색',
  'desk.undo': '실행 취소',
  'desk.clear': '모두 지우기',
  'desk.tools': '그리기 도구',
  'desk.chatLabel': '고객에게 보낼 메시지',
  'desk.send': '보내기',
  'desk.saveNotes': '메모 저장',
  'desk.end': '상담 종료',
  'desk.sessionWith': '{name} 님과 상담',
  'desk.noScreen': '고객이 아직 화면을 공유하지 않았습니다.',
  'desk.screenPaused': '화면 일시 중지됨',
  'desk.drawings': '고객 화면 위의 그림',
  'desk.chat': '채팅',
  'desk.privateNotes': '비공개 메모',
  'desk.you': '나',
  'desk.manageTitle': '헬프데스크 관리',
  'desk.backToConsole': '콘솔로 돌아가기',
  'desk.wallboard': '현황판',
  'desk.open': '운영 중',
  'desk.closed': '운영 종료',
  'desk.waitingNow': '대기',
  'desk.longestWait': '최장 대기',
  'desk.answeredToday': '오늘 응답',
  'desk.serviceLevel': '서비스 수준',
  'desk.noAgents': '상담원 없음',
  'desk.report': '보고서',
  'desk.from': '시작일',
  'desk.to': '종료일',
  'desk.showReport': '보기',
  'desk.downloadCsv': 'CSV 내려받기',
  'desk.date': '날짜',
  'desk.offered': '요청',
  'desk.answered': '응답',
  'desk.abandoned': '포기',
  'desk.asa': '평균 응답 속도',
  'desk.aht': '평균 처리 시간',
  'desk.csat': '만족도',
  'desk.ratings': '평가 수',
  'desk.staffing': '인력 계산(얼랑 C)',
  'desk.callsPerHour': '시간당 요청',
  'desk.handleSeconds': '처리 시간(초)',
  'desk.targetLevel': '목표 서비스 수준(%)',
  'desk.answerSeconds': '응답 목표(초)',
  'desk.calculate': '계산',
  'desk.staffingResult': '상담원 {agents}명: 서비스 수준 {level}, 점유율 {occupancy}, 평균 응답 속도 {asa}.',
  'desk.newQueue': '새 대기열',
  'desk.queueKey': '키',
  'desk.queueName': '이름',
  'desk.timeZone': '시간대',
  'desk.opens': '여는 시간',
  'desk.closes': '닫는 시간',
  'desk.origins': '허용 출처',
  'desk.addQueue': '대기열 추가',
  'desk.agents': '상담원',
  'desk.agent': '상담원',
  'desk.userId': '사용자 ID',
  'desk.agentQueues': '대기열',
  'desk.managerFlag': '관리자',
  'desk.saveAgent': '상담원 저장',
  'desk.contact': '연락처',
  'desk.channel.video': '영상',
  'desk.channel.voice': '음성',
  'desk.channel.chat': '채팅',
  'desk.kind.video': '영상 통화',
  'desk.kind.voice': '음성 통화',
  'desk.kind.chat': '채팅',
  'desk.kind.callback': '콜백',
  'desk.callbackBadge': '콜백',
  'desk.transferBadge': '이관됨',
  'desk.callbackHint': '다시 전화하기: {contact}',
  'desk.callbackAt': '희망 시간 {time}',
  'desk.callbackWhen': '희망 시간',
  'desk.callbackExplain': '고객이 콜백을 예약했으며 지금 접속해 있지 않습니다. 고객에게 연락한 뒤 메모에 내용을 적고 세션을 종료하세요.',
  'desk.chatOnly': '채팅 상담: 통화 없음.',
  'desk.voiceOnly': '음성 통화: 아무도 카메라를 보내지 않습니다.',
  'desk.otherAgent': '상담원',
  'desk.transfer': '이관…',
  'desk.transferTitle': '세션 이관',
  'desk.transferTo': '대상',
  'desk.transferToQueue': '다른 대기열',
  'desk.transferToAgent': '상담원 지정',
  'desk.transferQueueOnly': '상담원을 지정한 이관은 헬프데스크 관리자만 할 수 있습니다.',
  'desk.transferHow': '방식',
  'desk.transferCold': '콜드: 지금 세션에서 나가기',
  'desk.transferWarm': '웜: 다음 상담원이 수락할 때까지 남기',
  'desk.transferNow': '이관',
  'desk.cancel': '취소',
  'desk.transferring': '이관 중… (상대가 수락할 때까지 남아 있습니다)',
  'desk.agentUnavailable': '그 상담원은 지금 받을 수 없습니다. 상담 가능 상태가 아니거나 다른 고객의 요청이 울리고 있습니다. 다른 상담원이나 대기열을 고르세요.',
  'desk.transferWrongState': '이 세션은 지금 이관할 수 없습니다.',
  'desk.transferredTitle': '{name} 님을 이관했습니다',
  'desk.transferredText': '세션은 다른 상담원과 계속됩니다. 메모도 함께 넘어갔습니다.',
  'desk.customerLeftTitle': '{name} 님이 나갔습니다',
  'desk.customerLeft': '이관이 수락되기 전에 고객이 요청을 취소했습니다.',
  'desk.ready': '다음 고객 받을 준비 완료',
  'desk.webhooks': '웹훅',
  'desk.webhookUrl': 'URL',
  'desk.webhookEvents': '이벤트',
  'desk.addWebhook': '웹훅 추가',
  'desk.noWebhooks': '아직 웹훅이 없습니다.',
  'desk.webhookSecret': '{url}의 서명 비밀 키입니다. 지금 복사하세요. 다시 표시되지 않습니다.',
  'desk.webhookCreated': '만든 날짜',
  'desk.deleteWebhook': '삭제',
  'desk.keepWebhook': '유지',
  'desk.deleteWebhookConfirm': '웹훅 {url}과(와) 전송 기록을 삭제할까요?',
  'desk.deliveries': '전송 기록',
  'desk.hideDeliveries': '전송 기록 숨기기',
  'desk.refresh': '새로 고침',
  'desk.noDeliveries': '아직 보낸 것이 없습니다.',
  'desk.deliveryEvent': '이벤트',
  'desk.deliveryState': '상태',
  'desk.deliveryAttempts': '시도',
  'desk.deliveryResult': '마지막 결과',
  'desk.deliveryAt': '대기 시작',
  'desk.deliveryNext': '다음 시도',
  'desk.delivery.pending': '대기 중',
  'desk.delivery.retrying': '실패, 다시 시도 예정',
  'desk.delivery.delivered': '전송됨',
  'desk.delivery.failed': '실패',
  'desk.channels': '채널',
};

/** @typedef {'en' | 'ko'} Locale */

/** @type {Record<Locale, Record<MessageKey, string>>} */
const catalogues = { en, ko };

/** The languages on offer, each named in itself for the switcher. */
export const locales = /** @type {const} */ ([
  { code: 'en', name: 'English' },
  { code: 'ko', name: '한국어' },
]);

const storageKey = 'parley.locale';

/**
 * @param {string} value
 * @returns {value is Locale}
 */
function isLocale(value) {
  return Object.hasOwn(catalogues, value);
}

/**
 * The first of the reader's preferred languages that the app speaks.
 * @param {readonly string[]} preferred BCP 47 tags, most wanted first
 * @returns {Locale}
 */
export function matchLocale(preferred) {
  for (const tag of preferred) {
    const language = tag.toLowerCase().split('-')[0];
    if (isLocale(language)) return language;
  }
  return 'en';
}

/**
 * Translates message keys for one locale at a time and formats dates to
 * match. Listeners hear about a change of language so views can redraw.
 */
export class I18n {
  /** @type {Locale} */
  #locale;
  /** @type {Storage | null} */
  #storage;
  /** @type {Set<(locale: Locale) => void>} */
  #listeners = new Set();

  /**
   * @param {{ storage: Storage | null, preferred: readonly string[] }} options
   *   storage keeps an explicit choice; preferred is navigator.languages.
   */
  constructor({ storage, preferred }) {
    this.#storage = storage;
    const saved = readStorage(storage);
    this.#locale = saved !== null && isLocale(saved) ? saved : matchLocale(preferred);
  }

  /** @returns {Locale} */
  get locale() {
    return this.#locale;
  }

  /**
   * Switches language, remembers the choice and tells the listeners.
   * @param {Locale} locale
   */
  setLocale(locale) {
    if (locale === this.#locale) return;
    this.#locale = locale;
    try {
      this.#storage?.setItem(storageKey, locale);
    } catch {
      // Storage can be full or forbidden (private windows); the choice then
      // lasts for this page only.
    }
    for (const listener of this.#listeners) listener(locale);
  }

  /**
   * @param {(locale: Locale) => void} listener
   * @returns {() => void} removes the listener
   */
  onChange(listener) {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * The message for key, with {placeholders} filled from params.
   * @param {MessageKey} key
   * @param {Record<string, string | number>} [params]
   * @returns {string}
   */
  t(key, params) {
    const template = catalogues[this.#locale][key] ?? en[key];
    if (!params) return template;
    return template.replace(/\{(\w+)\}/g, (match, name) =>
      Object.hasOwn(params, name) ? String(params[name]) : match);
  }

  /**
   * Whether key is a message of the catalogue (for keys built from server
   * values, such as a role).
   * @param {string} key
   * @returns {key is MessageKey}
   */
  has(key) {
    return Object.hasOwn(en, key);
  }

  /**
   * A time of day, for a message.
   * @param {string} iso
   * @returns {string}
   */
  formatTime(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return '';
    return new Intl.DateTimeFormat(this.#locale, { timeStyle: 'short' }).format(date);
  }

  /**
   * A day, for the separators of a thread: today, yesterday, or the date.
   * @param {string} iso
   * @param {Date} [now]
   * @returns {string}
   */
  formatDay(iso, now = new Date()) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return '';
    const days = daysBetween(date, now);
    if (days === 0) return this.t('day.today');
    if (days === 1) return this.t('day.yesterday');
    return new Intl.DateTimeFormat(this.#locale, {
      weekday: 'long', month: 'long', day: 'numeric',
      year: date.getFullYear() === now.getFullYear() ? undefined : 'numeric',
    }).format(date);
  }

  /**
   * A short "when" for a list: the time today, the weekday this week, else
   * the date.
   * @param {string} iso
   * @param {Date} [now]
   * @returns {string}
   */
  formatListTime(iso, now = new Date()) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return '';
    const days = daysBetween(date, now);
    /** @type {Intl.DateTimeFormatOptions} */
    let options;
    if (days === 0) options = { timeStyle: 'short' };
    else if (days > 0 && days < 7) options = { weekday: 'short' };
    else if (date.getFullYear() === now.getFullYear()) options = { month: 'short', day: 'numeric' };
    else options = { dateStyle: 'short' };
    return new Intl.DateTimeFormat(this.#locale, options).format(date);
  }

  /**
   * When someone was last seen: the time today, else date and time.
   * @param {string} iso
   * @returns {string}
   */
  formatLastSeen(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return '';
    return daysBetween(date, new Date()) === 0 ? this.formatTime(iso) : this.formatDateTime(iso);
  }

  /**
   * A date and time as the reader writes them.
   * @param {string} iso an RFC 3339 timestamp from the API
   * @returns {string}
   */
  formatDateTime(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return iso;
    return new Intl.DateTimeFormat(this.#locale, { dateStyle: 'medium', timeStyle: 'short' }).format(date);
  }
}

/**
 * Calendar days from a to b in the reader's time zone (0: the same day).
 * @param {Date} a
 * @param {Date} b
 * @returns {number}
 */
function daysBetween(a, b) {
  const dayA = Date.UTC(a.getFullYear(), a.getMonth(), a.getDate());
  const dayB = Date.UTC(b.getFullYear(), b.getMonth(), b.getDate());
  return Math.round((dayB - dayA) / 86_400_000);
}

/**
 * @param {Storage | null} storage
 * @returns {string | null}
 */
function readStorage(storage) {
  try {
    return storage?.getItem(storageKey) ?? null;
  } catch {
    return null;
  }
}
